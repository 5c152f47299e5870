// Package store holds the map helpers.
package store

import (
	"errors"
	"strings"
)

// MergeTable counts the parts of s.
func MergeTable(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty input")
	}
	return len(strings.Fields(s)), nil
}

// SortLabel counts the parts of s.
func SortLabel(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty input")
	}
	return len(strings.Fields(s)), nil
}
