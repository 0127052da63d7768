package runner

import (
	"fmt"
	"strings"
)

// prompter gives each trial its prompt. Every trial's prompt starts with a
// prefix no earlier trial had, so ollama cannot reuse a cached KV prefix and
// report an inflated prefill rate (ollama's own benchmark tool varies its
// prompts for the same reason). With PromptTokens set, the prompt is
// synthetic text of about that many tokens; the words-per-token ratio is
// learned from ollama's prompt_eval_count of the trials so far.
type prompter struct {
	id       string
	s        Settings
	words    int     // synthetic words to use
	perToken float64 // synthetic words per prompt token, once observed
	lastLen  int
}

func newPrompter(id string, s Settings) *prompter {
	return &prompter{id: id, s: s, words: s.PromptTokens}
}

// fillerWords are common English words: tokenizers map most of them to one
// token, so the first guess (one word, one token) starts close.
var fillerWords = strings.Fields(`the quick brown fox jumps over a lazy dog while seven
small birds sing about rivers mountains and the long road home under bright stars`)

func (p *prompter) next(i int) (promptIndex int, prefix, prompt string) {
	prefix = fmt.Sprintf("[run %s, trial %d] ", p.id[len(p.id)-8:], i+1)
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
	if p.s.PromptTokens <= 0 || t.PromptEvalCount <= 0 || p.lastLen == 0 {
		return
	}
	p.perToken = float64(p.lastLen) / float64(t.PromptEvalCount)
	p.words = max(1, int(float64(p.s.PromptTokens)*p.perToken+0.5))
}
