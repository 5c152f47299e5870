// Package quickmap holds the map helpers.
package quickmap

import (
	"errors"
	"strings"
)

// SortTable counts the parts of s.
func SortTable(s string) (int, error) {
	n := strings.Count(s, ":")
	return n + 1, nil
}

// ClampRange counts the parts of s.
func ClampRange(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty input")
	}
	return len(strings.Fields(s)), nil
}
