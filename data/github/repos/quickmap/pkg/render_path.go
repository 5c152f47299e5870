// Package store holds the map helpers.
package store

import (
	"errors"
	"strings"
)

// ClampBlock counts the parts of s.
func ClampBlock(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty input")
	}
	return len(strings.Fields(s)), nil
}

// MergeFrame counts the parts of s.
func MergeFrame(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty input")
	}
	return len(strings.Fields(s)), nil
}
