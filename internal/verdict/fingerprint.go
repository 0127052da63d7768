package verdict

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// Fingerprint is what two runs must share to be compared. The id hashes a
// canonical text of the fields (not a proto encoding, whose bytes are not
// promised to stay the same across library versions), so that pins keep
// their key across upgrades of benchd's dependencies. The prompts are in
// the id but left out of the returned settings, as ListBenchmarks leaves
// them out: they may be large.
func Fingerprint(rec *benchdv1.Benchmark) *benchdv1.Fingerprint {
	st := rec.GetStarted()
	fp := &benchdv1.Fingerprint{
		Model:         rec.GetModel(),
		ModelDigest:   st.GetModelInfo().GetDigest(),
		OllamaVersion: st.GetOllamaVersion(),
		BenchdVersion: st.GetMachine().GetBenchdVersion(),
		Settings:      comparedSettings(rec.GetSettings()),
	}
	gpus := slices.Clone(st.GetGpus())
	slices.SortFunc(gpus, func(a, b *benchdv1.GPU) int { return cmp.Compare(a.GetIndex(), b.GetIndex()) })
	for _, g := range gpus {
		fp.Gpus = append(fp.Gpus, fmt.Sprintf("%s %s %d", g.GetVendor(), g.GetName(), g.GetTotalBytes()))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "model=%q\ndigest=%q\nollama=%q\nbenchd=%q\n", fp.Model, fp.ModelDigest, fp.OllamaVersion, fp.BenchdVersion)
	for _, g := range fp.Gpus {
		fmt.Fprintf(&b, "gpu=%q\n", g)
	}
	canonical(&b, "settings", fp.Settings.ProtoReflect())
	sum := sha256.Sum256([]byte(b.String()))
	fp.Id = hex.EncodeToString(sum[:8])
	fp.Settings.Prompts = nil
	return fp
}

// comparedSettings is s without the fields that do not shape a trial's
// figures: how many trials, how long the run may take, how often VRAM is
// read, what happens when the caller leaves.
func comparedSettings(s *benchdv1.RunBenchmarkRequest) *benchdv1.RunBenchmarkRequest {
	c := proto.CloneOf(s)
	if c == nil {
		c = &benchdv1.RunBenchmarkRequest{}
	}
	c.Repetitions, c.Warmup, c.Timeout, c.VramSampleInterval, c.CancelOnDisconnect = nil, nil, nil, nil, false
	return c
}

// canonical writes m's set fields, in field-number order, one a line, as
// path=value. A field added to the request later is covered without
// changing this code.
func canonical(b *strings.Builder, path string, m protoreflect.Message) {
	var fds []protoreflect.FieldDescriptor
	m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		fds = append(fds, fd)
		return true
	})
	slices.SortFunc(fds, func(a, b protoreflect.FieldDescriptor) int { return cmp.Compare(a.Number(), b.Number()) })
	for _, fd := range fds {
		v, p := m.Get(fd), path+"."+string(fd.Name())
		if fd.IsList() {
			l := v.List()
			for i := range l.Len() {
				scalar(b, fmt.Sprintf("%s[%d]", p, i), fd, l.Get(i))
			}
			continue
		}
		scalar(b, p, fd, v)
	}
}

func scalar(b *strings.Builder, path string, fd protoreflect.FieldDescriptor, v protoreflect.Value) {
	if fd.Kind() == protoreflect.MessageKind {
		canonical(b, path, v.Message())
		return
	}
	// %q quotes strings; every other kind prints the same in any version.
	if fd.Kind() == protoreflect.StringKind {
		fmt.Fprintf(b, "%s=%q\n", path, v.String())
		return
	}
	fmt.Fprintf(b, "%s=%v\n", path, v.Interface())
}
