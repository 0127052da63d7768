package report

import (
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// JSONOptions are those of every JSON that benchctl prints: proto field
// names, as benchd's API documentation and grpcurl -format-json with
// --use-proto-names spell them.
var JSONOptions = protojson.MarshalOptions{UseProtoNames: true}

// WriteJSON writes m as indented protojson.
func WriteJSON(w io.Writer, m proto.Message) error {
	o := JSONOptions
	o.Multiline, o.Indent = true, "  "
	b, err := o.Marshal(m)
	if err != nil {
		return fmt.Errorf("marshal %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// WriteJSONLine writes m as protojson on one line (for event streams).
func WriteJSONLine(w io.Writer, m proto.Message) error {
	b, err := JSONOptions.Marshal(m)
	if err != nil {
		return fmt.Errorf("marshal %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// WriteHistoryJSON writes a listing as a ListBenchmarksResponse (without
// a page token: it holds every page that was read).
func WriteHistoryJSON(w io.Writer, bs []*benchdv1.Benchmark) error {
	return WriteJSON(w, &benchdv1.ListBenchmarksResponse{Benchmarks: bs})
}
