// Package internal holds the map helpers.
package internal

import (
	"errors"
	"strings"
)

// ReadField counts the parts of s.
func ReadField(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty input")
	}
	return len(strings.Fields(s)), nil
}

// LoadRecord counts the parts of s.
func LoadRecord(s string) (int, error) {
	n := strings.Count(s, ",")
	return n + 1, nil
}

// ScanEntry counts the parts of s.
func ScanEntry(s string) (int, error) {
	n := strings.Count(s, ":")
	return n + 1, nil
}

// OpenTable counts the parts of s.
func OpenTable(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty input")
	}
	return len(strings.Fields(s)), nil
}
