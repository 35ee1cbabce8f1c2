#!/usr/bin/env python3
"""A strict parser of the Prometheus text exposition format, version 0.0.4.

    promparse.py [--json | --samples] [--value SERIES]... [FILE]
    promparse.py FILE...

It reads FILE (or standard input) and checks it against the format as
https://prometheus.io/docs/instrumenting/exposition_formats/ defines it,
more strictly than Prometheus itself where the documents say "must":

  - UTF-8, lines ended by \\n, the last one too; no \\r;
  - metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*,
    none of them starting with __ (reserved), no label twice in a sample;
  - label values in double quotes, with \\\\, \\" and \\n the only escapes;
  - values: a decimal float, +Inf, -Inf or NaN; an optional integer
    timestamp (milliseconds);
  - "# HELP name text" with \\\\ and \\n the only escapes, "# TYPE name t"
    with t one of counter, gauge, histogram, summary, untyped: at most one
    of each per family, and before its first sample;
  - the samples of a family together, no series (name and labels) twice;
  - counters, histogram buckets and counts, summary counts: not negative
    nor NaN;
  - histograms: samples named _bucket, _sum and _count only; every _bucket
    has le, the le of a series ascending, its buckets non-decreasing, an
    le="+Inf" bucket equal to _count, and a _sum;
  - summaries: a quantile label between 0 and 1 ascending, _sum and _count.

A broken rule ends it with status 1 and one line on standard error,
"FILE:LINE: RULE: what", RULE a short name the tests match. Valid input
exits 0; --json prints the samples as a JSON array, --samples one per
line as "name{labels} value", --value SERIES (as "name" or
'name{a="b"}', labels in any order) prints the value of that series, or
exits 3 when it is absent. Usage or read errors exit 2. Given several
FILEs, it checks each on its own, one line for each it refuses, and exits
1 if it refused any.
"""

import json
import math
import re
import sys

METRIC_NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')
LABEL_NAME = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*')
FLOAT = re.compile(r'[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$')
SPECIAL = {'+Inf': math.inf, '-Inf': -math.inf, 'NaN': math.nan}
TIMESTAMP = re.compile(r'-?[0-9]+$')
TYPES = ('counter', 'gauge', 'histogram', 'summary', 'untyped')
BLANK = ' \t'


class Invalid(Exception):
    """A broken rule: the line (0: the whole input), its name, what."""

    def __init__(self, line, rule, what):
        super().__init__(what)
        self.line = line
        self.rule = rule
        self.what = what


def parse_float(tok, line, what):
    if tok in SPECIAL:
        return SPECIAL[tok]
    if not FLOAT.match(tok):
        raise Invalid(line, 'value', '%s %r is not a float (digits, '
                      '+Inf, -Inf or NaN)' % (what, tok))
    return float(tok)


def unescape(s, pos, line, quoted):
    """The text of s from pos: a label value up to its closing quote
    (quoted), or a HELP docstring to the end. Returns (text, next pos)."""
    out = []
    escapes = {'\\': '\\', 'n': '\n'}
    if quoted:
        escapes['"'] = '"'
    rule = 'label-value' if quoted else 'help-escape'
    while pos < len(s):
        c = s[pos]
        if quoted and c == '"':
            return ''.join(out), pos + 1
        if c == '\\':
            if pos + 1 >= len(s) or s[pos + 1] not in escapes:
                raise Invalid(line, rule, 'invalid escape %r (only %s)' % (
                    s[pos:pos + 2], ', '.join(
                        '\\' + k for k in escapes)))
            out.append(escapes[s[pos + 1]])
            pos += 2
            continue
        out.append(c)
        pos += 1
    if quoted:
        raise Invalid(line, 'label-value', 'label value without its '
                      'closing quote')
    return ''.join(out), pos


def skip_blank(s, pos):
    while pos < len(s) and s[pos] in BLANK:
        pos += 1
    return pos


def parse_sample(s, line):
    """name, [(label, value)...], value, timestamp or None."""
    pos = skip_blank(s, 0)
    m = METRIC_NAME.match(s, pos)
    if m is None:
        raise Invalid(line, 'metric-name', 'a sample starts with a metric '
                      'name [a-zA-Z_:][a-zA-Z0-9_:]*: %r' % s[pos:pos + 20])
    name = m.group()
    if m.end() < len(s) and s[m.end()] not in BLANK + '{':
        raise Invalid(line, 'metric-name', '%r cannot be in a metric name '
                      '[a-zA-Z_:][a-zA-Z0-9_:]*' % s[m.end()])
    pos = skip_blank(s, m.end())
    labels = []
    if pos < len(s) and s[pos] == '{':
        pos = skip_blank(s, pos + 1)
        while pos < len(s) and s[pos] != '}':
            m = LABEL_NAME.match(s, pos)
            if m is None:
                raise Invalid(line, 'label-name', 'label names are '
                              '[a-zA-Z_][a-zA-Z0-9_]*: %r' %
                              s[pos:pos + 20])
            label = m.group()
            if label.startswith('__'):
                raise Invalid(line, 'label-name', 'label name %r: names '
                              'starting with __ are reserved' % label)
            if any(label == k for k, _ in labels):
                raise Invalid(line, 'duplicate-label', 'label %r twice' %
                              label)
            pos = skip_blank(s, m.end())
            if pos >= len(s) or s[pos] != '=':
                raise Invalid(line, 'syntax', 'expected = after label '
                              '%r' % label)
            pos = skip_blank(s, pos + 1)
            if pos >= len(s) or s[pos] != '"':
                raise Invalid(line, 'label-value', 'the value of label %r '
                              'is not in double quotes' % label)
            value, pos = unescape(s, pos + 1, line, True)
            labels.append((label, value))
            pos = skip_blank(s, pos)
            if pos < len(s) and s[pos] == ',':
                pos = skip_blank(s, pos + 1)
            elif pos < len(s) and s[pos] != '}':
                raise Invalid(line, 'syntax', 'expected , or } after the '
                              'value of label %r' % label)
        if pos >= len(s):
            raise Invalid(line, 'syntax', 'labels without their closing }')
        pos += 1
        if pos < len(s) and s[pos] not in BLANK:
            raise Invalid(line, 'syntax', 'no blank between } and the '
                          'value')
    rest = s[pos:].split()
    if not rest:
        raise Invalid(line, 'value', 'sample %s without a value' % name)
    if len(rest) > 2:
        raise Invalid(line, 'syntax', 'after the value only a timestamp '
                      'may come: %r' % ' '.join(rest[2:]))
    value = parse_float(rest[0], line, 'value')
    ts = None
    if len(rest) == 2:
        if not TIMESTAMP.match(rest[1]):
            raise Invalid(line, 'timestamp', 'timestamp %r is not an '
                          'integer (milliseconds)' % rest[1])
        ts = int(rest[1])
    return name, labels, value, ts


class Family:
    def __init__(self, name):
        self.name = name
        self.type = None
        self.help = None
        self.samples = []	# (line, name, labels, value)
        self.last = 0		# its last line so far
        self.done = False


class Parser:
    def __init__(self):
        self.families = {}
        self.order = []
        self.current = None
        self.series = {}
        self.samples = []

    def family(self, name):
        f = self.families.get(name)
        if f is None:
            f = self.families[name] = Family(name)
            self.order.append(f)
        return f

    def family_of(self, name):
        """The family a sample name belongs to: a histogram's or a
        summary's by its suffix, else its own."""
        for suffix in ('_bucket', '_sum', '_count'):
            if name.endswith(suffix):
                base = self.families.get(name[:-len(suffix)])
                if base is not None and (base.type == 'histogram' or (
                        base.type == 'summary' and suffix != '_bucket')):
                    return base
        return self.family(name)

    def enter(self, f, line):
        """A line of f: f must not have ended."""
        if f is not self.current:
            if f.done:
                raise Invalid(line, 'not-contiguous', 'family %s continues '
                              'after another family\'s lines (its last on '
                              'line %d): the lines of a family must be '
                              'together' % (f.name, f.last))
            if self.current is not None:
                self.current.done = True
            self.current = f
        f.last = line

    def comment(self, s, line):
        toks = s.lstrip(BLANK)[1:].lstrip(BLANK)
        kind = toks.split(None, 1)[0] if toks.split() else ''
        if kind not in ('HELP', 'TYPE'):
            return
        rest = toks[len(kind):]
        if rest and rest[0] not in BLANK:
            return		# "# HELPER": a comment
        rest = rest.lstrip(BLANK)
        m = METRIC_NAME.match(rest)
        if m is None or (m.end() < len(rest) and rest[m.end()] not in BLANK):
            raise Invalid(line, 'metric-name', '# %s names a metric '
                          '[a-zA-Z_:][a-zA-Z0-9_:]*: %r' % (kind, rest[:30]))
        name = m.group()
        f = self.family(name)
        if f.samples:
            raise Invalid(line, 'metadata-after-samples', '# %s %s after '
                          'its samples (line %d): it must come first' % (
                              kind, name, f.samples[0][0]))
        self.enter(f, line)
        if kind == 'HELP':
            if f.help is not None:
                raise Invalid(line, 'help-duplicate', 'a second # HELP '
                              'for %s' % name)
            text = rest[m.end():]
            if text[:1] in (' ', '\t'):
                text = text[1:]
            f.help, _ = unescape(text, 0, line, False)
            return
        words = rest[m.end():].split()
        if len(words) != 1:
            raise Invalid(line, 'type-value', '# TYPE %s takes one type, '
                          'got %d words' % (name, len(words)))
        if words[0] not in TYPES:
            raise Invalid(line, 'type-value', 'type %r of %s is none of '
                          '%s' % (words[0], name, ', '.join(TYPES)))
        if f.type is not None:
            raise Invalid(line, 'type-duplicate', 'a second # TYPE for %s' %
                          name)
        f.type = words[0]

    def sample(self, s, line):
        name, labels, value, ts = parse_sample(s, line)
        f = self.family_of(name)
        self.enter(f, line)
        key = (name, frozenset(labels))
        if key in self.series:
            raise Invalid(line, 'duplicate-series', 'series %s already '
                          'on line %d' % (render(name, labels),
                                          self.series[key]))
        self.series[key] = line
        f.samples.append((line, name, labels, value))
        self.samples.append({'line': line, 'name': name,
                             'labels': dict(labels), 'value': value,
                             'timestamp': ts, 'family': f.name,
                             'type': f.type or 'untyped'})

    def finish(self):
        for f in self.order:
            check = {'counter': check_counter, 'histogram': check_histogram,
                     'summary': check_summary}.get(f.type)
            if check is not None:
                check(f)


def not_count(v):
    return math.isnan(v) or v < 0


def check_counter(f):
    for line, name, labels, v in f.samples:
        if name != f.name:
            raise Invalid(line, 'counter', 'sample %s in counter %s' % (
                name, f.name))
        if not_count(v):
            raise Invalid(line, 'counter-negative', 'counter %s is %s: '
                          'counters are never negative' % (
                              render(name, labels), fmt(v)))


def groups(f, special):
    """The series of a histogram or summary, by their labels without
    special (le, quantile): {labels: {'points': [...], 'sum': s, ...}}."""
    out = {}
    for line, name, labels, v in f.samples:
        rest = frozenset((k, x) for k, x in labels if k != special)
        g = out.setdefault(rest, {'points': [], 'first': line})
        suffix = name[len(f.name):]
        has = [x for k, x in labels if k == special]
        if suffix in ('_sum', '_count'):
            if has:
                raise Invalid(line, f.type + '-' + special, '%s has label '
                              '%s: only the %s do' % (name, special,
                                                      'buckets' if special ==
                                                      'le' else 'quantiles'))
            g[suffix] = (line, v)
            continue
        g['points'].append((line, has, v))
    return out


def check_histogram(f):
    for line, name, labels, v in f.samples:
        if name == f.name:
            raise Invalid(line, 'histogram-name', 'sample %s in histogram '
                          '%s: only _bucket, _sum and _count' % (name, f.name))
        if not name.endswith('_sum') and not_count(v):
            raise Invalid(line, 'counter-negative', '%s is %s: histogram '
                          'counts are never negative' % (
                              render(name, labels), fmt(v)))
    for rest, g in groups(f, 'le').items():
        prev_le, prev_v, inf = None, None, None
        for line, has, v in g['points']:
            if not has:
                raise Invalid(line, 'histogram-le', 'a bucket of %s without '
                              'le' % f.name)
            le = parse_float(has[0], line, 'le')
            if math.isnan(le):
                raise Invalid(line, 'histogram-le', 'le of %s is NaN' %
                              f.name)
            if prev_le is not None and le <= prev_le:
                raise Invalid(line, 'histogram-order', 'bucket le="%s" of '
                              '%s after le="%s": le must ascend' % (
                                  has[0], f.name, fmt(prev_le)))
            if prev_v is not None and v < prev_v:
                raise Invalid(line, 'histogram-cumulative', 'bucket '
                              'le="%s" of %s holds %s, less than the %s '
                              'below it: buckets are cumulative' % (
                                  has[0], f.name, fmt(v), fmt(prev_v)))
            prev_le, prev_v = le, v
            if le == math.inf:
                inf = (line, v)
        where = g['first']
        if inf is None:
            raise Invalid(where, 'histogram-inf', 'histogram %s%s has no '
                          'le="+Inf" bucket' % (f.name, show(rest)))
        if '_count' not in g:
            raise Invalid(where, 'histogram-count', 'histogram %s%s has no '
                          '_count' % (f.name, show(rest)))
        if g['_count'][1] != inf[1]:
            raise Invalid(g['_count'][0], 'histogram-count', '%s_count%s '
                          'is %s, its le="+Inf" bucket %s: they must be '
                          'equal' % (f.name, show(rest), fmt(g['_count'][1]),
                                     fmt(inf[1])))
        if '_sum' not in g:
            raise Invalid(where, 'histogram-sum', 'histogram %s%s has no '
                          '_sum' % (f.name, show(rest)))


def check_summary(f):
    for rest, g in groups(f, 'quantile').items():
        prev = None
        for line, has, v in g['points']:
            if not has:
                raise Invalid(line, 'summary-quantile', 'a sample of '
                              'summary %s without quantile' % f.name)
            q = parse_float(has[0], line, 'quantile')
            if not 0 <= q <= 1:
                raise Invalid(line, 'summary-quantile', 'quantile %s of %s '
                              'is not between 0 and 1' % (has[0], f.name))
            if prev is not None and q <= prev:
                raise Invalid(line, 'summary-quantile', 'quantile %s of %s '
                              'after %s: quantiles must ascend' % (
                                  has[0], f.name, fmt(prev)))
            prev = q
        for part in ('_sum', '_count'):
            if part not in g:
                raise Invalid(g['first'], 'summary-' + part[1:], 'summary '
                              '%s%s has no %s' % (f.name, show(rest), part))
        if not_count(g['_count'][1]):
            raise Invalid(g['_count'][0], 'counter-negative', '%s_count '
                          'is %s' % (f.name, fmt(g['_count'][1])))


def fmt(v):
    if math.isnan(v):
        return 'NaN'
    if math.isinf(v):
        return '+Inf' if v > 0 else '-Inf'
    if v == int(v) and abs(v) < 2 ** 53:
        return str(int(v))
    return repr(v)


def escape(v):
    return v.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')


def render(name, labels):
    return name + show(labels)


def show(labels):
    if not labels:
        return ''
    return '{' + ','.join('%s="%s"' % (k, escape(v))
                          for k, v in sorted(labels)) + '}'


def parse(data):
    """The samples of data (bytes), or Invalid."""
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b'\n') + 1
        raise Invalid(line, 'utf8', 'not UTF-8 at byte %d' % e.start)
    if text and not text.endswith('\n'):
        raise Invalid(text.count('\n') + 1, 'newline', 'the last line does '
                      'not end with \\n')
    p = Parser()
    for n, s in enumerate(text.split('\n')[:-1], 1):
        if '\r' in s:
            raise Invalid(n, 'newline', 'a \\r: lines end with \\n alone')
        if s.strip(BLANK) == '':
            continue
        if s.lstrip(BLANK).startswith('#'):
            p.comment(s, n)
        else:
            p.sample(s, n)
    p.finish()
    return p.samples


def parse_series(arg):
    """A --value argument: (name, frozenset of labels)."""
    name, labels, _, _ = parse_sample(arg + ' 0', 0)
    return name, frozenset(labels)


def main(argv):
    mode, wanted, paths = None, [], []
    args = list(argv)
    while args:
        a = args.pop(0)
        if a in ('--json', '--samples'):
            mode = a
        elif a == '--value' and args:
            try:
                wanted.append(parse_series(args.pop(0)))
            except Invalid as e:
                sys.stderr.write('promparse: --value: %s\n' % e.what)
                return 2
        elif a.startswith('-') and a != '-':
            sys.stderr.write(__doc__.split('\n\n')[1] + '\n')
            return 2
        else:
            paths.append(a)
    if len(paths) > 1:
        if mode or wanted:
            sys.stderr.write('promparse: one FILE at most with --json, '
                             '--samples or --value\n')
            return 2
        return max(check(p) for p in paths)
    return check(paths[0] if paths else None, mode, wanted)


def check(path, mode=None, wanted=()):
    """Parses one file (None or - is standard input): main()'s status."""
    try:
        if path is None or path == '-':
            data, path = sys.stdin.buffer.read(), '<stdin>'
        else:
            with open(path, 'rb') as fp:
                data = fp.read()
    except OSError as e:
        sys.stderr.write('promparse: %s: %s\n' % (path, e.strerror))
        return 2
    try:
        samples = parse(data)
    except Invalid as e:
        sys.stderr.write('%s:%d: %s: %s\n' % (path, e.line, e.rule, e.what))
        return 1
    if mode == '--json':
        json.dump([dict(s, value=fmt(s['value'])) for s in samples],
                  sys.stdout, indent=1)
        sys.stdout.write('\n')
    elif mode == '--samples':
        for s in samples:
            sys.stdout.write('%s %s\n' % (render(s['name'], s['labels'].items()),
                                          fmt(s['value'])))
    by_key = {(s['name'], frozenset(s['labels'].items())): s['value']
              for s in samples}
    for key in wanted:
        if key not in by_key:
            sys.stderr.write('promparse: %s: no series %s\n' % (
                path, render(key[0], key[1])))
            return 3
        sys.stdout.write(fmt(by_key[key]) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
