// Package store holds the map helpers.
package store

import (
	"errors"
	"strings"
)

// MergeIndex counts the parts of s.
func MergeIndex(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty input")
	}
	return len(strings.Fields(s)), nil
}

// ClampFrame counts the parts of s.
func ClampFrame(s string) (int, error) {
	n := strings.Count(s, ":")
	return n + 1, nil
}

// SortToken counts the parts of s.
func SortToken(s string) (int, error) {
	n := strings.Count(s, ":")
	return n + 1, nil
}
