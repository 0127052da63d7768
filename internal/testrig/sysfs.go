package testrig

import (
	"os"
	"path/filepath"
	"strconv"
)

// SimGPU is one card of a simulated amdgpu sysfs tree, laid out as the
// amdgpu driver lays it out (device/mem_info_*, gpu_busy_percent,
// hwmon/hwmonN/{power1_average,temp*_{input,label},freq*_{input,label}}),
// in the kernel's units (bytes, µW, m°C, Hz, %).
type SimGPU struct {
	Card                         int
	TotalBytes, UsedBytes        uint64
	PowerW                       float64
	EdgeC, JunctionC, MemC, Busy float64
	CoreMHz, MemMHz              float64
}

// SimulatedSysfs writes gpus under root (root/class/drm/cardN/...), for
// benchd's --sysfs-root: benchd's real sysfs reader over a tree whose values
// the test knows.
func SimulatedSysfs(root string, gpus ...SimGPU) error {
	for _, g := range gpus {
		dev := filepath.Join(root, "class", "drm", "card"+strconv.Itoa(g.Card), "device")
		hw := filepath.Join(dev, "hwmon", "hwmon"+strconv.Itoa(g.Card+2))
		if err := os.MkdirAll(hw, 0o755); err != nil {
			return err
		}
		files := map[string]string{
			filepath.Join(dev, "vendor"):              "0x1002",
			filepath.Join(dev, "mem_info_vram_total"): strconv.FormatUint(g.TotalBytes, 10),
			filepath.Join(dev, "mem_info_vram_used"):  strconv.FormatUint(g.UsedBytes, 10),
			filepath.Join(dev, "gpu_busy_percent"):    strconv.Itoa(int(g.Busy)),
			filepath.Join(hw, "name"):                 "amdgpu",
			filepath.Join(hw, "power1_average"):       micro(g.PowerW),
			filepath.Join(hw, "power1_label"):         "PPT",
			filepath.Join(hw, "temp1_label"):          "edge",
			filepath.Join(hw, "temp1_input"):          milli(g.EdgeC),
			filepath.Join(hw, "temp2_label"):          "junction",
			filepath.Join(hw, "temp2_input"):          milli(g.JunctionC),
			filepath.Join(hw, "temp3_label"):          "mem",
			filepath.Join(hw, "temp3_input"):          milli(g.MemC),
			filepath.Join(hw, "freq1_label"):          "sclk",
			filepath.Join(hw, "freq1_input"):          strconv.FormatInt(int64(g.CoreMHz*1e6), 10),
			filepath.Join(hw, "freq2_label"):          "mclk",
			filepath.Join(hw, "freq2_input"):          strconv.FormatInt(int64(g.MemMHz*1e6), 10),
		}
		for path, v := range files {
			if err := os.WriteFile(path, []byte(v+"\n"), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

func micro(v float64) string { return strconv.FormatInt(int64(v*1e6), 10) }
func milli(v float64) string { return strconv.FormatInt(int64(v*1e3), 10) }

// Micro is v in millionths, as hwmon prints watts (µW).
func Micro(v float64) string { return micro(v) }
