// Package protoschema generates the JSON Schema of termcall's signaling
// protocol (docs/protocol.schema.json) from the Go types in package
// protocol and its request table, protocol.Requests.
//
// The schema has a definition for every message's data and two entry
// points: ClientMessage (a frame a client may send: one envelope per
// request type, its data typed) and ServerMessage (a reply, an event, a
// media signal or a pong). "required" lists the keys termcall always
// writes (fields without omitempty); the server accepts requests that leave
// them out and takes zero values. Requests are decoded strictly, so their
// definitions forbid unknown keys; server messages may gain keys in later
// versions, so clients must ignore keys they do not know and the server's
// definitions allow them.
//
// Run `go generate ./internal/protoschema` after changing a type; the
// package's test fails while the checked-in file differs from what the
// types say.
package protoschema

//go:generate go run ./gen ../../docs/protocol.schema.json

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/termcall/termcall/protocol"
)

// ID is the schema's $id.
const ID = "https://github.com/termcall/termcall/docs/protocol.schema.json"

// enumDoc describes the integer enums of the wire by their values.
var enums = map[reflect.Type][]enumValue{
	reflect.TypeFor[protocol.MediaType](): {{0, "unknown"}, {1, "audio"}, {2, "video"}},
	reflect.TypeFor[protocol.Role]():      {{0, "none"}, {1, "caller"}, {2, "called"}},
	reflect.TypeFor[protocol.Status]():    {{0, "none"}, {1, "waiting"}, {2, "accept"}},
	reflect.TypeFor[protocol.Scene]():     {{0, "group call"}, {1, "multi call (not used)"}, {2, "single (1v1) call"}},
	reflect.TypeFor[protocol.ResultType](): {
		{0, "unknown (all, in a filter)"}, {1, "missed"}, {2, "incoming"}, {3, "outgoing"},
	},
}

type enumValue struct {
	n    int
	name string
}

// enumDefs are the definitions of the protocol's enums, by type name.
func enumDefs() jsonschema.Definitions {
	defs := jsonschema.Definitions{}
	for t, vs := range enums {
		s := &jsonschema.Schema{Type: "integer"}
		var names []string
		for _, v := range vs {
			s.Enum = append(s.Enum, v.n)
			names = append(names, fmt.Sprintf("%d %s", v.n, v.name))
		}
		s.Description = t.Name() + ", a number on the wire: " + strings.Join(names, ", ") + "."
		defs[t.Name()] = s
	}
	reason := &jsonschema.Schema{Type: "string",
		Description: "EndReason, why a call ended or was never connected: the wire carries the name, not a number."}
	for r := protocol.ReasonUnknown; r <= protocol.ReasonEndByServer; r++ {
		reason.Enum = append(reason.Enum, r.String())
	}
	defs["EndReason"] = reason
	code := &jsonschema.Schema{Type: "integer", Description: "Code, a stable error code (docs/errors.md)."}
	var codes []int
	for c := range protocol.Codes() {
		codes = append(codes, int(c))
	}
	slices.Sort(codes)
	for _, c := range codes {
		code.Enum = append(code.Enum, c)
	}
	defs["Code"] = code
	return defs
}

// mapper refers the enums to their definitions.
func mapper(t reflect.Type) *jsonschema.Schema {
	switch {
	case enums[t] != nil, t == reflect.TypeFor[protocol.EndReason](), t == reflect.TypeFor[protocol.Code]():
		return &jsonschema.Schema{Ref: "#/$defs/" + t.Name()}
	case t == reflect.TypeFor[json.RawMessage]():
		return &jsonschema.Schema{Description: "Any JSON value."}
	}
	return nil
}

// serverTypes are sent by the server only: their definitions allow keys
// added by later versions.
var serverTypes = []any{
	protocol.LoginReply{}, protocol.RenewSigReply{}, protocol.CallReply{}, protocol.InviteUserReply{},
	protocol.RecordsReply{}, protocol.DeleteRecordCallsReply{}, protocol.CallState{}, protocol.Participant{},
	protocol.CallRecord{}, protocol.Event{}, protocol.UserInfo{}, protocol.Error{},
}

// Generate returns the schema document, indented, with a final newline.
func Generate() ([]byte, error) {
	r := &jsonschema.Reflector{Mapper: mapper, DoNotReference: false}
	base, dir, err := protocolSource()
	if err != nil {
		return nil, err
	}
	if err := r.AddGoComments(base, dir); err != nil {
		return nil, fmt.Errorf("protoschema: reading the protocol's comments: %w", err)
	}
	defs := enumDefs()
	ref := func(v any) *jsonschema.Schema {
		s := r.Reflect(v)
		for k, d := range s.Definitions {
			defs[k] = d
		}
		return &jsonschema.Schema{Ref: s.Ref}
	}
	for _, v := range serverTypes {
		ref(v)
	}
	for _, v := range []any{protocol.MediaSignal{}} {
		ref(v)
	}

	var types []string
	for t := range protocol.Requests {
		types = append(types, t)
	}
	slices.Sort(types)
	var client, replies []*jsonschema.Schema
	for _, t := range types {
		spec := protocol.Requests[t]
		env := envelope(t, "a request: "+spec.Doc)
		env.Required = []string{"type"}
		if t != protocol.TypePing {
			env.Properties.Set("id", &jsonschema.Schema{Type: "integer", Minimum: "1",
				Description: "Chosen by the client; the reply carries the same id."})
			env.Required = append(env.Required, "id")
		} else {
			env.Properties.Set("id", &jsonschema.Schema{Type: "integer", Minimum: "0"})
		}
		if spec.Data != nil {
			env.Properties.Set("data", ref(spec.Data))
		}
		client = append(client, env)
		if spec.Reply != nil {
			rs := ref(spec.Reply)
			if !slices.ContainsFunc(replies, func(s *jsonschema.Schema) bool { return s.Ref == rs.Ref }) {
				replies = append(replies, rs)
			}
		}
	}
	slices.SortFunc(replies, func(a, b *jsonschema.Schema) int { return strings.Compare(a.Ref, b.Ref) })
	reply := envelope(protocol.TypeReply, "The answer to a request, with its id (0, or no id key, when the request could not be read far enough to find one). It carries data (see the request table: x-reply) or an error, never both.")
	reply.Properties.Set("id", &jsonschema.Schema{Type: "integer", Minimum: "0"})
	reply.Properties.Set("data", &jsonschema.Schema{AnyOf: replies,
		Description: "The reply data of the request (absent for requests whose reply is empty)."})
	reply.Properties.Set("error", ref(protocol.Error{}))
	reply.Required = []string{"type"}
	event := envelope(protocol.TypeEvent, "An event pushed by the server (a TUICallObserver callback), with a per-device sequence number.")
	event.Properties.Set("data", ref(protocol.Event{}))
	event.Required = []string{"type", "data"}
	media := envelope(protocol.TypeMedia, "Media signaling from the server: offer, candidate or close.")
	media.Properties.Set("data", ref(protocol.MediaSignal{}))
	media.Required = []string{"type", "data"}
	pong := envelope(protocol.TypePong, "The answer to a ping.")
	pong.Properties.Set("id", &jsonschema.Schema{Type: "integer", Minimum: "0"})
	pong.Required = []string{"type"}

	for _, name := range defNames(serverTypes) {
		defs[name].AdditionalProperties = nil // allowed: later versions may add keys
	}
	defs["ClientMessage"] = &jsonschema.Schema{OneOf: client,
		Description: "A frame a client sends: one JSON text message per WebSocket frame, at most 64 KiB."}
	defs["ServerMessage"] = &jsonschema.Schema{OneOf: []*jsonschema.Schema{reply, event, media, pong},
		Description: "A frame the server sends."}

	doc := &jsonschema.Schema{
		Version:     jsonschema.Version,
		ID:          ID,
		Title:       "termcall signaling protocol, version " + fmt.Sprint(protocol.Version),
		Description: "Every WebSocket text frame at /v1/ws is a ClientMessage (client to server) or a ServerMessage (server to client). Generated from the Go types in package protocol; see docs/protocol.md.",
		OneOf: []*jsonschema.Schema{
			{Ref: "#/$defs/ClientMessage"}, {Ref: "#/$defs/ServerMessage"},
		},
		Definitions: defs,
		Extras:      map[string]any{"x-reply": replyTable(types)},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// envelope is the schema of a message of one type, data still to be set.
func envelope(typ, doc string) *jsonschema.Schema {
	s := &jsonschema.Schema{Type: "object", Title: typ, Description: strings.ToUpper(doc[:1]) + doc[1:],
		Properties: jsonschema.NewProperties(), AdditionalProperties: jsonschema.FalseSchema}
	s.Properties.Set("type", &jsonschema.Schema{Const: typ})
	return s
}

// replyTable maps each request type to the definition of its reply's data
// ("" when the reply carries none).
func replyTable(types []string) map[string]string {
	m := make(map[string]string, len(types))
	for _, t := range types {
		m[t] = ""
		if r := protocol.Requests[t].Reply; r != nil {
			m[t] = "#/$defs/" + reflect.TypeOf(r).Name()
		}
	}
	return m
}

func defNames(vs []any) []string {
	var names []string
	for _, v := range vs {
		names = append(names, reflect.TypeOf(v).Name())
	}
	return names
}

// protocolSource finds package protocol's source, for its doc comments,
// as AddGoComments wants it: a directory relative to the working directory
// (which must be inside the module, as under go test and go generate), and
// the import path of the working directory.
func protocolSource() (base, dir string, err error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", "", errors.New("protoschema: cannot find the module's source")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	wd, err := os.Getwd()
	if err != nil {
		return "", "", err
	}
	here, err := filepath.Rel(root, wd)
	if err != nil || strings.HasPrefix(here, "..") {
		return "", "", fmt.Errorf("protoschema: run inside the module (%s), not in %s", root, wd)
	}
	dir, err = filepath.Rel(wd, filepath.Join(root, "protocol"))
	if err != nil {
		return "", "", err
	}
	return path.Join(modulePath, filepath.ToSlash(here)), dir, nil
}

const modulePath = "github.com/termcall/termcall"
