/* The relay log's line expression in C: `relay.parser._SYSLOG_LINE` read by hand (`relay.compiled`).
 *
 * syslog_groups(line) returns what `_SYSLOG_LINE.match(line)` would: its five groups (timestamp, host,
 * program, queue id, rest) as a tuple, or None. Only for lines of ASCII text, where the expression's
 * classes are plain (\d is 0-9, \w is [A-Za-z0-9_], \s is Python's ASCII whitespace); any other line is
 * handed to the expression itself (`configure` gives its match method). The expression's possessive parts
 * take what they can and never give it back, which is what the scans below do; tests hold the two to the
 * same answers on the benchmark logs and on hundreds of thousands of mangled lines.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *fallback_match = NULL; /* _SYSLOG_LINE.match */

static inline int is_digit(Py_UCS1 c) { return c >= '0' && c <= '9'; }
static inline int is_lower(Py_UCS1 c) { return c >= 'a' && c <= 'z'; }
static inline int is_upper(Py_UCS1 c) { return c >= 'A' && c <= 'Z'; }
static inline int is_word(Py_UCS1 c) { return is_digit(c) || is_lower(c) || is_upper(c) || c == '_'; }
/* [\w.+-] */
static inline int is_prog(Py_UCS1 c) { return is_word(c) || c == '.' || c == '+' || c == '-'; }
/* \s on ASCII in a str expression: \t \n \v \f \r, the separators \x1c-\x1f, and the space */
static inline int is_space(Py_UCS1 c) { return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f) || c == ' '; }
/* [0-9A-F]: short queue ids */
static inline int is_short(Py_UCS1 c) { return is_digit(c) || (c >= 'A' && c <= 'F'); }
/* [0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]: long queue ids */
static inline int is_long(Py_UCS1 c)
{
    if (is_digit(c))
        return 1;
    if (is_lower(c))
        c = (Py_UCS1)(c - 'a' + 'A');
    else if (!is_upper(c))
        return 0;
    return c != 'A' && c != 'E' && c != 'I' && c != 'O' && c != 'U';
}

/* The end of the queue id starting at q (followed by ": "), or -1. */
static Py_ssize_t queue_id_end(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t q)
{
    Py_ssize_t r = 0;
    while (q + r < n && is_short(s[q + r]) && r <= 20)
        r++;
    if (r >= 6 && r <= 20 && q + r + 1 < n && s[q + r] == ':' && s[q + r + 1] == ' ')
        return q + r; /* [0-9A-F]{6,20} */
    r = 0;
    while (q + r < n && is_long(s[q + r]))
        r++;
    if (q + r + 1 < n && s[q + r] == ':' && s[q + r + 1] == ' ') {
        /* L{10,}zL+: a 'z' at offset 10 or later with at least one character after it */
        for (Py_ssize_t p = 10; p <= r - 2; p++) {
            if (s[q + p] == 'z')
                return q + r;
        }
    }
    if (q + 8 < n && memcmp(s + q, "NOQUEUE: ", 9) == 0)
        return q + 7;
    return -1;
}

/* Fills the group bounds (start, end pairs) and returns 1, or returns 0 where the expression fails. */
static int scan(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t *bounds)
{
    Py_ssize_t i = 0, j;
    /* [A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d(?:\.\d{1,6})? */
    if (n < 3 || !is_upper(s[0]) || !is_lower(s[1]) || !is_lower(s[2]))
        return 0;
    i = 3;
    if (i >= n || s[i] != ' ')
        return 0;
    while (i < n && s[i] == ' ')
        i++;
    j = i;
    while (j < n && is_digit(s[j]) && j - i < 2)
        j++;
    if (j == i || j >= n || s[j] != ' ')
        return 0;
    i = j + 1;
    if (i + 8 > n || !is_digit(s[i]) || !is_digit(s[i + 1]) || s[i + 2] != ':' || !is_digit(s[i + 3]) ||
        !is_digit(s[i + 4]) || s[i + 5] != ':' || !is_digit(s[i + 6]) || !is_digit(s[i + 7]))
        return 0;
    i += 8;
    if (i < n && s[i] == '.') {
        j = i + 1;
        while (j < n && is_digit(s[j]) && j - i <= 6)
            j++;
        if (j - i - 1 < 1 || j - i - 1 > 6)
            return 0; /* no digit, or more than six: then ' ' cannot follow */
        i = j;
    }
    bounds[0] = 0;
    bounds[1] = i;
    /* ' (?P<host>\S++) ' */
    if (i >= n || s[i] != ' ')
        return 0;
    j = ++i;
    while (j < n && !is_space(s[j]))
        j++;
    if (j == i || j >= n || s[j] != ' ')
        return 0;
    bounds[2] = i;
    bounds[3] = j;
    /* (?P<prog>postfix[\w.+-]*+(?:/[\w.+-]++)*+)(?:\[\d++\])?+: */
    i = j + 1;
    if (i + 7 > n || memcmp(s + i, "postfix", 7) != 0)
        return 0;
    j = i + 7;
    while (j < n && is_prog(s[j]))
        j++;
    while (j + 1 < n && s[j] == '/' && is_prog(s[j + 1])) {
        j += 2;
        while (j < n && is_prog(s[j]))
            j++;
    }
    bounds[4] = i;
    bounds[5] = j;
    if (j + 1 < n && s[j] == '[' && is_digit(s[j + 1])) {
        Py_ssize_t k = j + 1;
        while (k < n && is_digit(s[k]))
            k++;
        if (k < n && s[k] == ']')
            j = k + 1;
    }
    if (j + 1 >= n || s[j] != ':' || s[j + 1] != ' ')
        return 0;
    /* (?P<qid>...|NOQUEUE): (?P<rest>.*) */
    i = j + 2;
    j = queue_id_end(s, n, i);
    if (j < 0)
        return 0;
    bounds[6] = i;
    bounds[7] = j;
    i = j + 2;
    j = i;
    while (j < n && s[j] != '\n')
        j++;
    bounds[8] = i;
    bounds[9] = j;
    return 1;
}

static PyObject *syslog_groups(PyObject *module, PyObject *line)
{
    if (!PyUnicode_Check(line)) {
        PyErr_SetString(PyExc_TypeError, "syslog_groups() takes a str");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(line)) {
        if (fallback_match == NULL) {
            PyErr_SetString(PyExc_RuntimeError, "relay._linescan is not configured");
            return NULL;
        }
        PyObject *match = PyObject_CallOneArg(fallback_match, line);
        if (match == NULL || match == Py_None)
            return match;
        PyObject *groups = PyObject_CallMethod(match, "groups", NULL);
        Py_DECREF(match);
        return groups;
    }
    Py_ssize_t bounds[10];
    if (!scan(PyUnicode_1BYTE_DATA(line), PyUnicode_GET_LENGTH(line), bounds))
        Py_RETURN_NONE;
    PyObject *groups = PyTuple_New(5);
    if (groups == NULL)
        return NULL;
    for (int g = 0; g < 5; g++) {
        PyObject *part = PyUnicode_Substring(line, bounds[2 * g], bounds[2 * g + 1]);
        if (part == NULL) {
            Py_DECREF(groups);
            return NULL;
        }
        PyTuple_SET_ITEM(groups, g, part);
    }
    return groups;
}

static PyObject *configure(PyObject *module, PyObject *match)
{
    Py_XINCREF(match);
    Py_XSETREF(fallback_match, match);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"syslog_groups", syslog_groups, METH_O, "The line expression's groups, or None."},
    {"configure", configure, METH_O, "Give the line expression's match method (for lines not ASCII)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "relay._linescan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__linescan(void) { return PyModule_Create(&module_def); }
