package report

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// TestEvaluateReproducesCommittedTargets: the targets stored in the newest
// committed results file (and shown in the README) are what Evaluate says
// of its rows.
func TestEvaluateReproducesCommittedTargets(t *testing.T) {
	path, err := NewestResults("../../../bench/results")
	if err != nil {
		t.Skipf("no committed results: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	stored := r.Targets
	if got := Evaluate(&r); !reflect.DeepEqual(got, stored) {
		t.Errorf("%s: Evaluate gives\n%+v\nthe file holds\n%+v", path, got, stored)
	}
}
