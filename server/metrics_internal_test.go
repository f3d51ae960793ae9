package server

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func value(t *testing.T, m prometheus.Metric) (counter float64, count uint64, sum float64) {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetCounter().GetValue(), d.GetHistogram().GetSampleCount(), d.GetHistogram().GetSampleSum()
}

// TestStoreCommitObserver: what the store reports of its commits lands in
// the latency histogram, the failure counter and the rows by result.
func TestStoreCommitObserver(t *testing.T) {
	m := newMetrics(&Server{})
	m.storeCommitted(10, 20*time.Millisecond, nil)
	m.storeCommitted(5, 30*time.Millisecond, errors.New("disk full"))
	_, n, sum := value(t, m.storeCommit)
	failed, _, _ := value(t, m.storeFailed)
	ok, _, _ := value(t, m.storeRows.WithLabelValues("ok"))
	bad, _, _ := value(t, m.storeRows.WithLabelValues("failed"))
	if diff := cmp.Diff([]float64{2, 0.05, 1, 10, 5}, []float64{float64(n), float64(int(sum*1000+0.5)) / 1000, failed, ok, bad}); diff != "" {
		t.Errorf("commits, seconds, failures, rows ok, rows failed (-want +got):\n%s", diff)
	}
}
