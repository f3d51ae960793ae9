package server

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/protocol"
)

// TestRequestCatalog keeps protocol.Requests (and so the protocol's JSON
// Schema, docs/protocol.schema.json) in step with what the server handles.
func TestRequestCatalog(t *testing.T) {
	handled := []string{protocol.TypeLogin, protocol.TypePing}
	for typ := range handlers {
		handled = append(handled, typ)
	}
	var listed []string
	for typ := range protocol.Requests {
		listed = append(listed, typ)
	}
	slices.Sort(handled)
	slices.Sort(listed)
	if d := cmp.Diff(handled, listed); d != "" {
		t.Errorf("requests the server handles (-) vs protocol.Requests (+):\n%s", d)
	}
}
