package expr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

func init() {
	register(map[string]builtin{"SelectUniqueValue": fnSelectUniqueValue})
}

// ErrAllTaken is wrapped by the error of a SelectUniqueValue whose every
// candidate is taken: the object is to be escrowed, as in Entra.
var ErrAllTaken = errors.New("every candidate value is taken")

// SelectUniqueValue(rule1, rule2, …): the first rule's value that
// Env.IsTaken reports free, rules being evaluated one at a time in order
// and no further. A rule whose value is null or "" is passed over (it
// cannot be a unique value). No free candidate is an error wrapping
// ErrAllTaken that names the candidates tried; an error from IsTaken
// stops the search.
func fnSelectUniqueValue(ev *evaluator, c *Call) (Value, error) {
	if ev.env.IsTaken == nil {
		return Null, errors.New("no IsTaken callback in the environment")
	}
	var tried []string
	for i, a := range c.Args {
		v, err := ev.eval(a)
		if err != nil {
			return Null, err
		}
		if nullOrEmpty(v) {
			continue
		}
		s, err := single(v, fmt.Sprintf("rule %d", i+1))
		if err != nil {
			return Null, err
		}
		taken, err := ev.env.IsTaken(s)
		if err != nil {
			return Null, fmt.Errorf("checking %q: %w", s, err)
		}
		if !taken {
			return String(s), nil
		}
		tried = append(tried, s)
	}
	return Null, fmt.Errorf("%w: %s", ErrAllTaken, quoteList(tried))
}

// quoteList writes values as "a", "b" for an error message.
func quoteList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}
