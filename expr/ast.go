package expr

import "strings"

// Expr is a parsed expression. Parse it once and evaluate it many times.
type Expr struct {
	Root Node
}

// Calls reports whether e calls the named function anywhere. The
// provisioning engine asks it about the functions whose meaning is in how a
// value is written rather than in the value: Redact (hide it in logs) and
// AssertiveAppRoleAssignmentsComplex (replace the roles instead of adding).
func (e *Expr) Calls(name string) bool { return calls(e.Root, name) }

func calls(n Node, name string) bool {
	switch n := n.(type) {
	case *Call:
		if n.Name == name {
			return true
		}
		for _, a := range n.Args {
			if calls(a, name) {
				return true
			}
		}
	case *Compare:
		return calls(n.Left, name) || calls(n.Right, name)
	}
	return false
}

// String returns the canonical form of e: Parse(e.String()) gives back the
// same tree.
func (e *Expr) String() string { return e.Root.String() }

// Node is one node of the syntax tree.
type Node interface {
	// Pos is the 1-based character position where the node starts (for a
	// Compare, where its operator is).
	Pos() int
	// String is the canonical source text of the node.
	String() string
	node()
}

// Call is a function call such as Join(" ", [givenName], [surname]).
type Call struct {
	At   int
	Name string
	Args []Node // an omitted positional argument is an *Empty
}

// Attr is an attribute reference such as [userPrincipalName]; Name is the
// text between the brackets.
type Attr struct {
	At   int
	Name string
}

// Str is a string literal; Value has its escapes resolved.
type Str struct {
	At    int
	Value string
}

// Num is a number literal, kept as written: a decimal such as 7, -10 or 1.5,
// or a VB hex literal such as &HF7.
type Num struct {
	At   int
	Text string
}

// Ident is one of the bare identifiers of the language, such as
// vbBinaryCompare or IgnoreObjectFlow.
type Ident struct {
	At   int
	Name string
}

// Compare is a comparison, allowed only as the condition of IIF and the
// argument of CBool.
type Compare struct {
	At          int
	Op          string // one of = <> < <= > >=
	Left, Right Node
}

// Empty is an omitted positional argument, as in Replace([x], , "a", , "b", , ).
type Empty struct {
	At int
}

func (n *Call) Pos() int    { return n.At }
func (n *Attr) Pos() int    { return n.At }
func (n *Str) Pos() int     { return n.At }
func (n *Num) Pos() int     { return n.At }
func (n *Ident) Pos() int   { return n.At }
func (n *Compare) Pos() int { return n.At }
func (n *Empty) Pos() int   { return n.At }

func (*Call) node()    {}
func (*Attr) node()    {}
func (*Str) node()     {}
func (*Num) node()     {}
func (*Ident) node()   {}
func (*Compare) node() {}
func (*Empty) node()   {}

func (n *Call) String() string {
	var b strings.Builder
	b.WriteString(n.Name)
	b.WriteByte('(')
	for i, a := range n.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.String())
	}
	b.WriteByte(')')
	return b.String()
}

func (n *Attr) String() string { return "[" + n.Name + "]" }

func (n *Str) String() string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(n.Value) + `"`
}

func (n *Num) String() string     { return n.Text }
func (n *Ident) String() string   { return n.Name }
func (n *Compare) String() string { return n.Left.String() + " " + n.Op + " " + n.Right.String() }
func (n *Empty) String() string   { return "" }
