package main

import "testing"

func TestSchedField(t *testing.T) {
	// The head of /proc/<pid>/task/<tid>/sched on Linux 6.x.
	const sched = `sqlgate (12230, #threads: 9)
-------------------------------------------------------------------
se.exec_start                                :      21880542.613524
se.vruntime                                  :         31035.071446
se.sum_exec_runtime                          :          1487.915236
se.nr_migrations                             :                52688
nr_switches                                  :                59790
nr_voluntary_switches                        :                59620
`
	for _, c := range []struct {
		name string
		want int64
		ok   bool
	}{
		{"se.nr_migrations", 52688, true},
		{"nr_switches", 59790, true},
		{"se.vruntime", 0, false}, // not an integer
		{"se.nr_wakeups", 0, false},
		{"migrations", 0, false}, // the whole name, not a suffix
	} {
		got, ok := schedField(sched, c.name)
		if got != c.want || ok != c.ok {
			t.Errorf("schedField(%q) = %d, %v; want %d, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}
