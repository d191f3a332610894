package main

import (
	"crypto/sha256"
	"runtime"
	"testing"
	"time"
)

// The benchmark's CPU figures count work: spinning for 100 ms of wall time
// on one goroutine adds tens of milliseconds of this process's CPU, and on
// Linux the machine's busy time is read and does not go backwards.
func TestReadCPUCountsWork(t *testing.T) {
	before := readCPU()
	sum := sha256.Sum256(nil)
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
		sum = sha256.Sum256(sum[:])
	}
	after := readCPU()
	if got := after.process - before.process; got < 30*time.Millisecond {
		t.Errorf("process CPU grew by %v while spinning for 100 ms", got)
	}
	if runtime.GOOS == "linux" && (!after.machineKnown || after.machine < before.machine) {
		t.Errorf("machine CPU: known %v, %v then %v", after.machineKnown, before.machine, after.machine)
	}
	var per cpuPerOp
	per.add(before, after)
	if s := per.per(4).String(); s == "" || per.per(0) != (cpuPerOp{}) {
		t.Errorf("per-operation figures: %q", s)
	}
}
