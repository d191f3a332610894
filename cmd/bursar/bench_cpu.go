package main

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
)

// cpuTimes is the CPU time used so far by this process and by the whole
// machine (every process, PostgreSQL's included).
type cpuTimes struct {
	process, machine time.Duration
	machineKnown     bool
}

// readCPU reads the CPU times. The machine's busy time comes from the first
// line of /proc/stat (Linux), in clock ticks of 10 ms: user, nice, system,
// irq, softirq and steal; idle and iowait are not busy, and guest time is
// already counted in user.
func readCPU() cpuTimes {
	var t cpuTimes
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		t.process = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return t
	}
	line, _, _ := bytes.Cut(raw, []byte("\n"))
	fields := bytes.Fields(line)
	if len(fields) < 9 || string(fields[0]) != "cpu" {
		return t
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
		v, err := strconv.ParseInt(string(fields[i]), 10, 64)
		if err != nil {
			return t
		}
		ticks += v
	}
	t.machine, t.machineKnown = time.Duration(ticks)*10*time.Millisecond, true
	return t
}

// cpuPerOp is the CPU that one operation cost on average, between two
// readings around n operations.
type cpuPerOp struct {
	process, machine time.Duration
	machineKnown     bool
}

func (a *cpuPerOp) add(before, after cpuTimes) {
	a.process += after.process - before.process
	a.machine += after.machine - before.machine
	a.machineKnown = before.machineKnown && after.machineKnown
}

func (a cpuPerOp) per(n int) cpuPerOp {
	if n == 0 {
		return cpuPerOp{}
	}
	return cpuPerOp{process: a.process / time.Duration(n), machine: a.machine / time.Duration(n), machineKnown: a.machineKnown}
}

// String formats the CPU per operation in microseconds: the process's, then
// the machine's.
func (a cpuPerOp) String() string {
	m := "-"
	if a.machineKnown {
		m = strconv.FormatInt(a.machine.Microseconds(), 10)
	}
	return strconv.FormatInt(a.process.Microseconds(), 10) + " / " + m + " µs"
}
