// Command gguf writes a tiny, random-weight, llama-architecture GGUF model
// for tests. The output is byte-for-byte deterministic (fixed seed).
//
//	go run ./gguf -o tiny.gguf
//
// Model: SPM ("llama") tokenizer with <unk>/<s>/</s>, 256 byte tokens and a
// few dozen word-piece tokens; 2 layers, width 64, 4 heads, FFN 128, F32.
//
// Generation never stops on its own and never degenerates into repeating one
// token (which ollama aborts after 30 repeats, without a final "done"
// message): the embedding carries a constant 1.0 in residual dimension 0 that
// no layer writes to, so after the final RMSNorm that dimension is always
// positive. The output rows of every special token (<unk>, <s>, </s>) and byte
// token are -1000 on dimension 0 and zero elsewhere, so they are never
// sampled; the word pieces form a random cycle (see output.weight below), so
// greedy decoding walks through all of them. Output is always clean ASCII
// text and num_predict=N yields exactly N tokens.
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"

	"github.com/ollama/ollama/fs/ggml"
)

const (
	nEmbd   = 64
	nLayer  = 2
	nHead   = 4
	nHeadKV = 4
	nFF     = 128
	nCtx    = 4096
	seed    = 20240601
)

// wordPieces are the only tokens the model ever generates.
var wordPieces = []string{
	"▁", "▁the", "▁a", "▁and", "▁of", "▁to", "▁in", "▁is", "▁it", "▁that",
	"▁hello", "▁world", "▁bench", "▁test", "▁token", "▁model", "▁fast", "▁slow",
	"▁red", "▁blue", "▁cat", "▁dog", "▁sun", "▁moon", "▁one", "▁two", "▁three",
	".", ",", "!", "?",
	"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m",
	"n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z",
}

const (
	typeNormal  = 1
	typeUnknown = 2
	typeControl = 3
	typeByte    = 6
)

type f32s []float32

func (f f32s) WriteTo(w io.Writer) (int64, error) {
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, []float32(f)); err != nil {
		return 0, err
	}
	return b.WriteTo(w)
}

func main() {
	out := flag.String("o", "tiny.gguf", "output file")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gguf:", err)
		os.Exit(1)
	}
}

func write(path string) error {
	// Vocabulary.
	tokens := []string{"<unk>", "<s>", "</s>"}
	types := []int32{typeUnknown, typeControl, typeControl}
	scores := []float32{0, 0, 0}
	for i := 0; i < 256; i++ {
		tokens = append(tokens, fmt.Sprintf("<0x%02X>", i))
		types = append(types, typeByte)
		scores = append(scores, 0)
	}
	firstWord := len(tokens)
	for i, w := range wordPieces {
		tokens = append(tokens, w)
		types = append(types, typeNormal)
		// SPM prefers higher scores; favour longer pieces slightly.
		scores = append(scores, float32(-i)/100+float32(len(w))/10)
	}
	nVocab := len(tokens)

	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	randn := func(n int, scale float64) f32s {
		v := make(f32s, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * scale)
		}
		return v
	}
	ones := func(n int) f32s {
		v := make(f32s, n)
		for i := range v {
			v[i] = 1
		}
		return v
	}

	var ts []*ggml.Tensor
	add := func(name string, data f32s, shape ...uint64) {
		n := uint64(1)
		for _, s := range shape {
			n *= s
		}
		if uint64(len(data)) != n {
			panic(name)
		}
		ts = append(ts, &ggml.Tensor{Name: name, Kind: 0 /* F32 */, Shape: shape, WriterTo: data})
	}

	// Token embeddings [nEmbd, nVocab]; dimension 0 is a constant 1.
	embd := randn(nEmbd*nVocab, 1)
	for t := 0; t < nVocab; t++ {
		embd[t*nEmbd] = 1
	}
	add("token_embd.weight", embd, nEmbd, uint64(nVocab))

	// The layers do real (random) work but only nudge the residual stream
	// (output projections scaled by layerScale), so the final hidden state
	// stays close to the current token's embedding.
	const layerScale = 0.1
	wscale := 1 / math.Sqrt(nEmbd)
	for l := 0; l < nLayer; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		add(p+"attn_norm.weight", ones(nEmbd), nEmbd)
		add(p+"attn_q.weight", randn(nEmbd*nEmbd, wscale), nEmbd, nEmbd)
		add(p+"attn_k.weight", randn(nEmbd*nEmbd*nHeadKV/nHead, wscale), nEmbd, nEmbd*nHeadKV/nHead)
		add(p+"attn_v.weight", randn(nEmbd*nEmbd*nHeadKV/nHead, wscale), nEmbd, nEmbd*nHeadKV/nHead)
		o := randn(nEmbd*nEmbd, layerScale*wscale)
		for i := 0; i < nEmbd; i++ { // never write residual dim 0
			o[i] = 0
		}
		add(p+"attn_output.weight", o, nEmbd, nEmbd)
		add(p+"ffn_norm.weight", ones(nEmbd), nEmbd)
		add(p+"ffn_gate.weight", randn(nEmbd*nFF, wscale), nEmbd, nFF)
		add(p+"ffn_up.weight", randn(nEmbd*nFF, wscale), nEmbd, nFF)
		d := randn(nFF*nEmbd, layerScale/math.Sqrt(nFF))
		for i := 0; i < nFF; i++ { // never write residual dim 0
			d[i] = 0
		}
		add(p+"ffn_down.weight", d, nFF, nEmbd)
	}
	add("output_norm.weight", ones(nEmbd), nEmbd)

	// Output projection [nEmbd, nVocab].
	//
	// ollama aborts a generation (silently, without a final done message)
	// once the same token text repeats more than 30 times in a row, which a
	// random model does quickly under greedy decoding. So the word pieces
	// form one random cycle next[]: the row of word piece next[t] is
	// outScale * embedding(t) (dim 0 excluded), making next[t] the clear
	// argmax after t. Output therefore never gets stuck on one token.
	//
	// Specials and byte tokens: -1000 on dim 0 only => logit << 0, never
	// sampled (in particular never </s>).
	const outScale = 0.1
	order := make([]int, 0, nVocab-firstWord)
	for t := firstWord; t < nVocab; t++ {
		order = append(order, t)
	}
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	prev := make(map[int]int, len(order)) // prev[next[t]] = t
	for i, t := range order {
		prev[order[(i+1)%len(order)]] = t
	}
	outw := make(f32s, nEmbd*nVocab)
	for u := 0; u < nVocab; u++ {
		row := outw[u*nEmbd : (u+1)*nEmbd]
		if u < firstWord {
			row[0] = -1000
			continue
		}
		src := embd[prev[u]*nEmbd : (prev[u]+1)*nEmbd]
		for i := 1; i < nEmbd; i++ {
			row[i] = outScale * src[i]
		}
	}
	add("output.weight", outw, nEmbd, uint64(nVocab))

	kv := ggml.KV{
		"general.architecture":                   "llama",
		"general.name":                           "tiny",
		"general.file_type":                      uint32(0), // all F32
		"general.alignment":                      uint32(32),
		"llama.context_length":                   uint32(nCtx),
		"llama.embedding_length":                 uint32(nEmbd),
		"llama.block_count":                      uint32(nLayer),
		"llama.feed_forward_length":              uint32(nFF),
		"llama.attention.head_count":             uint32(nHead),
		"llama.attention.head_count_kv":          uint32(nHeadKV),
		"llama.rope.dimension_count":             uint32(nEmbd / nHead),
		"llama.rope.freq_base":                   float32(10000),
		"llama.attention.layer_norm_rms_epsilon": float32(1e-5),
		"llama.vocab_size":                       uint32(nVocab),
		"tokenizer.ggml.model":                   "llama",
		"tokenizer.ggml.tokens":                  tokens,
		"tokenizer.ggml.scores":                  scores,
		"tokenizer.ggml.token_type":              types,
		"tokenizer.ggml.unknown_token_id":        uint32(0),
		"tokenizer.ggml.bos_token_id":            uint32(1),
		"tokenizer.ggml.eos_token_id":            uint32(2),
		"tokenizer.ggml.add_bos_token":           true,
		"tokenizer.ggml.add_eos_token":           false,
	}

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := ggml.WriteGGUF(f, kv, ts); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
