package report

import (
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// jsonOptions are those of every JSON that benchctl prints: proto field
// names, as benchd's API documentation and grpcurl -format-json with
// --use-proto-names spell them, and zero values kept, so that a script
// reads 0 or false instead of a missing key.
func jsonOptions() protojson.MarshalOptions {
	return protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}
}

// WriteJSON writes m as indented protojson.
func WriteJSON(w io.Writer, m proto.Message) error {
	o := jsonOptions()
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
	b, err := jsonOptions().Marshal(m)
	if err != nil {
		return fmt.Errorf("marshal %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
