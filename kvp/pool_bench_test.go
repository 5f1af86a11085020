//go:build linux || freebsd

package kvp

import (
	"fmt"
	"path/filepath"
	"testing"
)

var poolBenchSizes = []int{10, 1000, 10000}

// poolBenchOpen opens pool 1 in a fresh directory holding n records, written
// directly rather than through n durable Sets.
func poolBenchOpen(b *testing.B, n int) *Pool {
	b.Helper()
	dir := b.TempDir()
	parts := make([][]byte, n)
	for i := range parts {
		parts[i] = rawRecord(poolBenchKey(i), fmt.Sprintf("value of record %d", i))
	}
	writePoolFile(b, filepath.Join(dir, ".kvp_pool_1"), parts...)
	return openTestPool(b, dir, 1)
}

func poolBenchKey(i int) string { return fmt.Sprintf("benchmark-key-%06d", i) }

// poolBenchIndex spreads lookups over the pool without a random source.
func poolBenchIndex(i, n int) int { return (i * 7919) % n }

func BenchmarkPoolGet(b *testing.B) {
	for _, n := range poolBenchSizes {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			p := poolBenchOpen(b, n)
			keys := make([]string, n)
			for i := range keys {
				keys[i] = poolBenchKey(i)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, ok, err := p.Get(keys[poolBenchIndex(i, n)]); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

func BenchmarkPoolAt(b *testing.B) {
	for _, n := range poolBenchSizes {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			p := poolBenchOpen(b, n)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, ok, err := p.At(poolBenchIndex(i, n)); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

// BenchmarkPoolSet replaces a value in place; each Set is durable.
func BenchmarkPoolSet(b *testing.B) {
	for _, n := range poolBenchSizes {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			p := poolBenchOpen(b, n)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := p.Set(poolBenchKey(poolBenchIndex(i, n)), fmt.Sprintf("new value %d", i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPoolEnumerate walks the pool with At the way the host
// enumerates it, index 0 upwards until At reports the end, over and over;
// one op is one At call. ns/record is the cost per record returned, which
// should not grow with the size of the pool.
func BenchmarkPoolEnumerate(b *testing.B) {
	for _, n := range poolBenchSizes {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			p := poolBenchOpen(b, n)
			records, index := 0, 0
			b.ReportAllocs()
			for b.Loop() {
				_, ok, err := p.At(index)
				if err != nil {
					b.Fatal(err)
				}
				if !ok {
					index = 0
					continue
				}
				records++
				index++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(records, 1)), "ns/record")
		})
	}
}
