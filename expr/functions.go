package expr

// funcSpec describes one function of the expression language: how many
// arguments it takes and where the parser allows what. It is the single
// table of functions; the evaluator hangs its implementation here later.
//
// Arity counts positional arguments, empty ones included: in
// Replace([mail], "@contoso.com", , , "", , ) all seven count. Min is the
// position of the last required parameter of the reference signature, so an
// optional parameter in the middle (FormatDateTime's dateTimeStyles) must be
// given, possibly empty, while optional trailing parameters may be left off.
type funcSpec struct {
	min, max int  // max < 0: variadic
	even     bool // the argument count must be even (Switch: source, default, key/value pairs)
	cond     int  // 1-based argument that may be a comparison such as [a] = "b"; 0: none
	topLevel bool // must be the whole expression, never nested (SelectUniqueValue)
}

const variadic = -1

// functions lists every function in the reference
// (../shared/reference/entra-expressions.md, section 5). Names are
// case-sensitive, as in Entra.
var functions = map[string]funcSpec{
	"Append":                             {min: 2, max: 2},
	"AppRoleAssignmentsComplex":          {min: 1, max: 1},
	"AssertiveAppRoleAssignmentsComplex": {min: 1, max: 1},
	"BitAnd":                             {min: 2, max: 2},
	"CBool":                              {min: 1, max: 1, cond: 1},
	"CDate":                              {min: 1, max: 1},
	"Coalesce":                           {min: 1, max: variadic},
	"ConvertToBase64":                    {min: 1, max: 1},
	"ConvertToUTF8Hex":                   {min: 1, max: 1},
	"Count":                              {min: 1, max: 1},
	"CStr":                               {min: 1, max: 1},
	"DateAdd":                            {min: 3, max: 3},
	"DateDiff":                           {min: 3, max: 3},
	"DateFromNum":                        {min: 1, max: 1},
	"FormatDateTime":                     {min: 4, max: 4},
	"Guid":                               {min: 0, max: 0},
	"IgnoreFlowIfNullOrEmpty":            {min: 1, max: 1},
	"IIF":                                {min: 3, max: 3, cond: 1},
	"InStr":                              {min: 2, max: 4},
	"IsNull":                             {min: 1, max: 1},
	"IsNullOrEmpty":                      {min: 1, max: 1},
	"IsPresent":                          {min: 1, max: 1},
	"IsString":                           {min: 1, max: 1},
	"Item":                               {min: 2, max: 2},
	"Join":                               {min: 2, max: variadic},
	"Left":                               {min: 2, max: 2},
	"Mid":                                {min: 3, max: 3},
	"NormalizeDiacritics":                {min: 1, max: 1},
	"Not":                                {min: 1, max: 1},
	"Now":                                {min: 0, max: 0},
	"NumFromDate":                        {min: 1, max: 1},
	"PCase":                              {min: 1, max: 2},
	"RandomString":                       {min: 5, max: 6},
	"Redact":                             {min: 1, max: 1},
	"RemoveDuplicates":                   {min: 1, max: 1},
	"Replace":                            {min: 1, max: 7},
	"SelectUniqueValue":                  {min: 2, max: variadic, topLevel: true},
	"SingleAppRoleAssignment":            {min: 1, max: 1},
	"Split":                              {min: 2, max: 2},
	"StripSpaces":                        {min: 1, max: 1},
	"Switch":                             {min: 4, max: variadic, even: true},
	"ToLower":                            {min: 1, max: 2},
	"ToUpper":                            {min: 1, max: 2},
	"Word":                               {min: 3, max: 3},
}

// identifiers are the bare words the reference allows as arguments: the
// compare types of InStr and the flow-control sentinels of the HR guides.
var identifiers = map[string]bool{
	"vbTextCompare":       true,
	"vbBinaryCompare":     true,
	"IgnoreAttributeFlow": true,
	"IgnoreObjectFlow":    true,
}
