package mcpserver

import (
	"github.com/google/jsonschema-go/jsonschema"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
)

// The tools' schemas are made from the contract's descriptors, so they
// say what protojson reads and writes (proto field names, int64 as
// strings, enums by name, timestamps and durations as strings) and carry
// the proto's protovalidate bounds: a tool's arguments are the request
// message, its result the response message.

// schemas builds JSON Schemas of messages, with each message defined once
// under $defs.
type schemas struct {
	defs map[string]*jsonschema.Schema
	// input: a schema of arguments (enum values by name only, no unknown
	// property); else of results, which may hold anything protojson
	// writes.
	input bool
}

func newSchemas(input bool) *schemas {
	return &schemas{defs: map[string]*jsonschema.Schema{}, input: input}
}

// root is md's schema as a tool's input or output schema: its properties
// inline, the messages it refers to under $defs. drop names fields left
// out (the tool decides them).
func (s *schemas) root(md protoreflect.MessageDescriptor, drop ...string) *jsonschema.Schema {
	r := s.object(md, drop...)
	r.Defs = s.defs
	return r
}

func (s *schemas) object(md protoreflect.MessageDescriptor, drop ...string) *jsonschema.Schema {
	o := &jsonschema.Schema{Type: "object", Properties: map[string]*jsonschema.Schema{}}
	if s.input {
		o.AdditionalProperties = &jsonschema.Schema{Not: &jsonschema.Schema{}}
	}
	fields := md.Fields()
outer:
	for i := range fields.Len() {
		fd := fields.Get(i)
		for _, d := range drop {
			if string(fd.Name()) == d {
				continue outer
			}
		}
		rules, _ := proto.GetExtension(fd.Options(), validate.E_Field).(*validate.FieldRules)
		if s.input && rules.GetRequired() {
			o.Required = append(o.Required, string(fd.Name()))
		}
		o.Properties[string(fd.Name())] = s.field(fd, rules)
	}
	return o
}

// ref defines md once and refers to it.
func (s *schemas) ref(md protoreflect.MessageDescriptor) *jsonschema.Schema {
	name := string(md.FullName())
	if _, ok := s.defs[name]; !ok {
		s.defs[name] = nil // a placeholder, so a cycle ends here
		s.defs[name] = s.object(md)
	}
	return &jsonschema.Schema{Ref: "#/$defs/" + name}
}

func (s *schemas) field(fd protoreflect.FieldDescriptor, rules *validate.FieldRules) *jsonschema.Schema {
	if fd.IsMap() {
		return &jsonschema.Schema{Type: "object", AdditionalProperties: s.single(fd.MapValue(), nil)}
	}
	if !fd.IsList() {
		return s.single(fd, rules)
	}
	a := &jsonschema.Schema{Type: "array", Items: s.single(fd, rules.GetRepeated().GetItems())}
	if r := rules.GetRepeated(); r != nil && s.input {
		if r.MaxItems != nil {
			a.MaxItems = intp(int(r.GetMaxItems()))
		}
		if r.MinItems != nil {
			a.MinItems = intp(int(r.GetMinItems()))
		}
		a.UniqueItems = r.GetUnique()
	}
	return a
}

// single is the schema of one value of fd, bounded by rules when it is an
// input.
func (s *schemas) single(fd protoreflect.FieldDescriptor, rules *validate.FieldRules) *jsonschema.Schema {
	if !s.input {
		rules = nil
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		switch fd.Message().FullName() {
		case "google.protobuf.Timestamp":
			return &jsonschema.Schema{Type: "string", Format: "date-time", Description: "RFC 3339, e.g. 2026-11-30T12:00:00Z"}
		case "google.protobuf.Duration":
			return &jsonschema.Schema{Type: "string", Pattern: `^-?[0-9]+(\.[0-9]+)?s$`, Description: `seconds with an "s", e.g. "90s" or "0.25s"`}
		}
		return s.ref(fd.Message())
	case protoreflect.BoolKind:
		return &jsonschema.Schema{Type: "boolean"}
	case protoreflect.StringKind, protoreflect.BytesKind:
		str := &jsonschema.Schema{Type: "string"}
		if r := rules.GetString(); r != nil {
			str.Pattern = r.GetPattern()
			if r.MaxLen != nil {
				str.MaxLength = intp(int(r.GetMaxLen()))
			}
			if r.MinLen != nil {
				str.MinLength = intp(int(r.GetMinLen()))
			}
		}
		return str
	case protoreflect.EnumKind:
		e := &jsonschema.Schema{Type: "string"}
		vals := fd.Enum().Values()
		for i := range vals.Len() {
			if v := vals.Get(i); !s.input || v.Number() != 0 {
				e.Enum = append(e.Enum, string(v.Name()))
			}
		}
		return e
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		n := &jsonschema.Schema{Type: "number"}
		if !s.input {
			// protojson writes NaN and ±Infinity as strings.
			n = &jsonschema.Schema{Types: []string{"number", "string"}}
		}
		if r := rules.GetDouble(); r != nil {
			n.Minimum, n.ExclusiveMinimum = floatp(r.GetGte(), r.HasGte()), floatp(r.GetGt(), r.HasGt())
			n.Maximum, n.ExclusiveMaximum = floatp(r.GetLte(), r.HasLte()), floatp(r.GetLt(), r.HasLt())
		}
		return n
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		// protojson writes 64-bit integers as strings and reads either.
		return &jsonschema.Schema{Types: []string{"integer", "string"}}
	}
	n := &jsonschema.Schema{Type: "integer"}
	if r := rules.GetUint32(); r != nil {
		n.Minimum, n.Maximum = floatp(float64(r.GetGte()), r.HasGte()), floatp(float64(r.GetLte()), r.HasLte())
	}
	if fd.Kind() == protoreflect.Uint32Kind || fd.Kind() == protoreflect.Fixed32Kind {
		if n.Minimum == nil {
			n.Minimum = floatp(0, true)
		}
	}
	return n
}

func intp(n int) *int { return &n }

func floatp(v float64, set bool) *float64 {
	if !set {
		return nil
	}
	return &v
}
