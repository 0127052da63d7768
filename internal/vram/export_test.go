package vram

// What the external tests (package vram_test, which may use internal/fakes:
// fakes imports vram) need from inside.

// SamplerDone is closed when the sampler's goroutine has ended.
func SamplerDone(s *Sampler) <-chan struct{} { return s.done }

// WriteSysfs and AMDCard build a sysfs tree (sysfs_test.go).
var (
	WriteSysfs = writeSysfs
	AMDCard    = amdCard
)
