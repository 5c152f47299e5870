// Package internal holds the map helpers.
package internal

import (
	"errors"
	"strings"
)

// LoadEntry counts the parts of s.
func LoadEntry(s string) (int, error) {
	n := strings.Count(s, ";")
	return n + 1, nil
}

// SortToken counts the parts of s.
func SortToken(s string) (int, error) {
	n := strings.Count(s, ":")
	return n + 1, nil
}

// ScanRange counts the parts of s.
func ScanRange(s string) (int, error) {
	n := strings.Count(s, ";")
	return n + 1, nil
}
