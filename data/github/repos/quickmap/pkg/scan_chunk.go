// Package store holds the map helpers.
package store

import (
	"errors"
	"strings"
)

// CollectBlock counts the parts of s.
func CollectBlock(s string) (int, error) {
	n := strings.Count(s, ",")
	return n + 1, nil
}

// MeasureRange counts the parts of s.
func MeasureRange(s string) (int, error) {
	n := strings.Count(s, ",")
	return n + 1, nil
}

// MeasureLine counts the parts of s.
func MeasureLine(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty input")
	}
	return len(strings.Fields(s)), nil
}
