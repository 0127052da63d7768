package runner

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
)

// prompter gives each trial its prompt. Every trial's prompt starts with a
// prefix no earlier trial had, so ollama cannot reuse a cached KV prefix and
// report an inflated prefill rate. ollama's cache reuses the longest common
// token prefix, not only a whole prompt, so the prefix begins with a tag
// that changes with every trial, before anything trials share: with
// "[run ID, trial N] " first, every trial after a run's first took the
// tokens of "[run ID, trial " from the cache (20 of 99 on the rig's tiny
// model), and benchd's prefill rate came out 18% above ollama-bench's on
// the same server (TestRatesAgreeWithOllamaBench, issue 17). With PromptTokens set, the prompt is
// synthetic text of about that many tokens; the words-per-token ratio is
// learned from ollama's prompt_eval_count of the trials so far.
//
// The calibration is bounded: ollama cuts a prompt longer than its context
// and counts only what it kept, so a naive ratio (words sent / tokens
// counted) grows with every trial — a 4,096-token context asked for
// 131,072 tokens multiplied the prompt by 32 a trial until benchd ran out
// of memory. So the prompt grows at most growthPerTrial times from one
// trial to the next, never beyond maxWordsPerToken words per token asked
// for, and once ollama's count shows the context is full (it reached the
// context, or did not grow with the prompt) the length is fixed at what the
// context held.
type prompter struct {
	id       string
	s        Settings
	ctxLen   int // the context the prompt must fit: num_ctx, else the model's; 0 unknown
	words    int // synthetic words to use
	lastLen  int // words of the last synthetic prompt
	prevLen  int // words of the one before, and what ollama counted of it
	prevSeen int
	full     bool // the context is full: the length is fixed
}

const (
	// growthPerTrial bounds how much the prompt may grow between trials.
	growthPerTrial = 2
	// maxWordsPerToken: the filler words are each a token or more in any
	// tokenizer; more words than this per counted token means ollama cut
	// the prompt, not that the words are short.
	maxWordsPerToken = 2
)

func newPrompter(id string, s Settings, ctxLen int) *prompter {
	return &prompter{id: id, s: s, ctxLen: ctxLen, words: s.PromptTokens}
}

// fillerWords are common English words: tokenizers map most of them to one
// token, so the first guess (one word, one token) starts close.
var fillerWords = strings.Fields(`the quick brown fox jumps over a lazy dog while seven
small birds sing about rivers mountains and the long road home under bright stars`)

func (p *prompter) next(i int) (promptIndex int, prefix, prompt string) {
	prefix = fmt.Sprintf("%s [run %s, trial %d] ", trialTag(p.id, i), p.id[len(p.id)-8:], i+1)
	if p.s.PromptTokens > 0 {
		var b strings.Builder
		for w := range p.words {
			if w > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(fillerWords[(w+i)%len(fillerWords)])
		}
		p.lastLen = p.words
		return 0, prefix, prefix + b.String()
	}
	pi := i % len(p.s.Prompts)
	return pi, prefix, prefix + p.s.Prompts[pi]
}

// observe calibrates the synthetic prompt length from what ollama counted.
func (p *prompter) observe(t *Trial) {
	seen := t.PromptEvalCount
	if p.s.PromptTokens <= 0 || seen <= 0 || p.lastLen == 0 || p.full {
		return
	}
	defer func() { p.prevLen, p.prevSeen = p.lastLen, seen }()
	perToken := float64(p.lastLen) / float64(seen)
	cut := perToken > maxWordsPerToken ||
		(p.ctxLen > 0 && seen >= p.ctxLen) ||
		(p.prevSeen > 0 && p.lastLen > p.prevLen && seen <= p.prevSeen)
	if cut {
		// More words add nothing: send what the context held, one word
		// a token, from now on.
		p.full = true
		p.words = max(1, min(p.lastLen, seen))
		return
	}
	// Only growth is bounded: shrinking costs nothing, and a tokenizer
	// that makes several tokens of a word needs a large first step down.
	want := int(float64(p.s.PromptTokens)*perToken + 0.5)
	p.words = max(1, min(want, p.lastLen*growthPerTrial, p.s.PromptTokens*maxWordsPerToken))
}

// trialTag is 8 hex digits that begin differently for each of 16
// consecutive trials of a run (the first digit counts them), so that none
// starts like the prompt of one of the 15 before it: ollama keeps one
// cached prompt a parallel slot (OLLAMA_NUM_PARALLEL, at most 16 here). The
// other 7 digits hash the run and trial, so that runs and sweep cells
// (whose ids differ) rarely share more than the first. Deterministic, so a
// run's prompts can be told again.
func trialTag(id string, i int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d", id, i))
	return fmt.Sprintf("%x%07x", i%16, binary.BigEndian.Uint32(sum[:])>>4)
}
