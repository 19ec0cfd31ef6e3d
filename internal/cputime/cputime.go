// Package cputime reads the CPU time a process has used, which benchmarks
// report beside wall time: on a shared, noisy machine it measures their own
// cost better (time spent descheduled is not counted).
package cputime
