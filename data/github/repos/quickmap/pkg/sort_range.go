// Package quickmap holds the map helpers.
package quickmap

import (
	"errors"
	"strings"
)

// SortLabel counts the parts of s.
func SortLabel(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty input")
	}
	return len(strings.Fields(s)), nil
}

// MergeLine counts the parts of s.
func MergeLine(s string) (int, error) {
	n := strings.Count(s, ":")
	return n + 1, nil
}

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
