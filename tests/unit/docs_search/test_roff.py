"""roff reading: escapes, the request layer, and the man and mdoc macro packages."""

from __future__ import annotations

import pytest
from ai_stack.docs_search.roff import read_page
from ai_stack.docs_search.roff.escapes import GLUE, expand, split_arguments
from ai_stack.docs_search.roff.reader import Request, RoffReader, Text


@pytest.mark.parametrize(
    ("roff", "text"),
    [
        (r"\fBbold\fR and \fIitalic\fP \f(CWcode\f[] \f[CR]x\fR", "bold and italic code x"),
        (r"\-\-recursive", "--recursive"),
        (r"a\(emb \(lqq\(rq \(aqx\(aq \(co \[em] \[u00E9] \[char65]", "a—b “q” 'x' © — é A"),
        (r"\&.dot \e \\ back\|slash\^", r".dot \ \ backslash"),
        (r"x\h'-04'y\v'+1'z \s-2small\s0 \N'66'\w'abc'", "xyz small B"),
        (r"\*(lqquoted\*(rq \*R", "“quoted” ®"),
        (r"continued\c", "continued" + GLUE),
        (r"unknown \(zz glyph", "unknown  glyph"),
    ],
)
def test_escapes(roff: str, text: str) -> None:
    assert expand(roff) == text


def test_strings_expand_recursively_but_not_forever() -> None:
    assert expand(r"\*(C+ and \*[long]", {"C+": r"C\*(pp", "pp": "++", "long": "value"}) == "C++ and value"
    assert expand(r"\*x", {"x": r"\*x"}) == ""  # self-reference stops at the depth limit


def test_arguments_split_like_roff() -> None:
    assert split_arguments(r'a "b c" "say ""hi""" d\ e') == ["a", "b c", 'say "hi"', r"d\ e"]


def lines(source: str) -> list[Request | Text]:
    return list(RoffReader(source, native=frozenset()))


def test_reader_joins_continuations_and_drops_comments() -> None:
    got = lines('.\\" a comment\nfirst \\\nsecond\n.B bold \\" trailing comment\n.\n')
    assert got == [Text("first second"), Request("B", "bold")]


def test_conditions_are_evaluated_as_nroff_would() -> None:
    source = (
        ".ie n .ds X nroff\n.el .ds X troff\n"
        ".if t \\{\\\n.ds Y never\nhidden text\n.\\}\n"
        ".if !t \\{\\\nshown text\n.\\}\n"
        ".if \\n(.g .ds G groff\n"
        ".if '\\*X'nroff' .ds Z equal\n"
        ".if 2>1 .ds N number\n"
    )
    reader = RoffReader(source, native=frozenset())
    assert list(reader) == [Text("shown text")]
    assert reader.strings == {"X": "nroff", "G": "groff", "Z": "equal", "N": "number"}


def test_page_macros_expand_with_arguments_unless_native() -> None:
    source = '.de Hi\n.B "Hello \\\\$1"\n..\n.Hi world\n.de B\nnever\n..\n.B x\n'
    assert lines(source.replace(".de B\nnever\n..\n", "")) == [
        Request("B", '"Hello world"'),
        Request("B", "x"),
    ]
    reader = RoffReader(source, native=frozenset({"B"}))
    assert list(reader) == [Request("B", '"Hello world"'), Request("B", "x")]


def test_a_macro_that_calls_itself_stops_with_an_error() -> None:
    with pytest.raises(ValueError, match="expands more than"):
        lines(".de Loop\n.Loop\n..\n.Loop\n")


MAN_PAGE = r""".\" A hand-written page exercising the man macros.
.TH TOOL 1 "2024" "tool 1.0" "User Commands"
.ds Pr \fBtool\fR
.de Vb
.nf
..
.de Ve
.fi
..
.SH NAME
tool \- frobnicate files \(em quickly
.SH SYNOPSIS
.B tool
[\fB\-v\fR] \fIfile\fR...
.br
.B tool
.BR \-\-help
.SH DESCRIPTION
\*(Pr frobnicates each
.IR file .
.PP
Second paragraph with a literal block:
.Vb
  tool -v a.txt
  tool --help
.Ve
.IP \(bu 2
first bullet
.IP \(bu 2
second bullet
.SH OPTIONS
.SS "General options"
.TP
\fB\-v\fR, \fB\-\-verbose\fR
say what happens
.RS
.TP
.B nested
a nested entry, not an option of its own
.RE
still about verbose
.TP
.B \-n
.TQ
.B \-\-dry\-run
change nothing
.PP
Text after the list.
.PP
\-\-docbook\-style
.RS 4
an option laid out the docbook way
.RE
.SH "SEE ALSO"
.BR other (1)
"""


def test_man_page_sections_paragraphs_and_literal_blocks() -> None:
    page = read_page(MAN_PAGE)
    assert (page.name, page.section) == ("TOOL", "1")
    assert [p.heading for p in page.parts] == ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SEE ALSO"]
    name, synopsis, description, options, see_also = page.parts
    assert name.text() == "tool - frobnicate files — quickly"
    assert synopsis.text() == "tool [-v] file...\ntool --help"
    assert description.blocks[0] == "tool frobnicates each file."
    assert description.blocks[2] == "```\n  tool -v a.txt\n  tool --help\n```"
    assert description.blocks[3:] == ["- first bullet", "- second bullet"]
    assert see_also.text() == "other(1)"
    assert options.blocks[0] == "### General options"


def test_man_option_items() -> None:
    options = read_page(MAN_PAGE).part("OPTIONS")
    assert options is not None
    assert [i.tag for i in options.items] == ["-v, --verbose", "-n, --dry-run", "--docbook-style"]
    verbose, dry_run, docbook = options.items
    assert verbose.subsection == "General options"
    assert verbose.blocks == [
        "-v, --verbose",
        "say what happens",
        "nested",
        "a nested entry, not an option of its own",
        "still about verbose",
    ]
    assert dry_run.blocks == ["-n, --dry-run", "change nothing"]  # .PP ended it: the next text is not in it
    assert docbook.blocks == ["--docbook-style", "an option laid out the docbook way"]
    assert "Text after the list." in options.text()


MDOC_PAGE = r""".Dd January 1, 2024
.Dt FROB 1
.Os
.Sh NAME
.Nm frob ,
.Nm unfrob
.Nd frobnicate files
.Sh SYNOPSIS
.Nm
.Op Fl av
.Op Fl o Ar file
.Op Fl Fl long
.Ar
.Sh DESCRIPTION
The
.Nm
utility frobnicates
.Ar file
(see
.Xr frob.conf 5 ) .
.Pp
The options are as follows:
.Bl -tag -width Ds
.It Fl a
Frobnicate
.Em all
files.
.It Fl o Ar file
Write to
.Pa file
instead of
.Dq stdout .
.Bl -bullet
.It
a nested bullet
.El
.It Xo
.Fl v Ns Op Ar level
.Xc
Be verbose.
.It Fl Fl long
Long option.
.El
.Bd -literal
$ frob -a
.Ed
.Sh EXIT STATUS
.Ex -std
"""


def test_mdoc_page_structure_and_name_line() -> None:
    page = read_page(MDOC_PAGE)
    assert (page.name, page.section) == ("FROB", "1")
    assert [p.heading for p in page.parts] == ["NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS"]
    name, synopsis, description, exit_status = page.parts
    assert name.text() == "frob, unfrob - frobnicate files"
    assert synopsis.text() == "frob [-av] [-o file] [--long] file ..."
    assert description.blocks[0] == "The frob utility frobnicates file (see frob.conf(5))."
    assert "```\n$ frob -a\n```" in description.blocks
    assert exit_status.text() == "The frob utility exits 0 on success, and >0 if an error occurs."


def test_mdoc_option_items() -> None:
    description = read_page(MDOC_PAGE).part("DESCRIPTION")
    assert description is not None
    assert [i.tag for i in description.items] == ["-a", "-o file", "-v[level]", "--long"]
    a, o, _, _ = description.items
    assert a.blocks == ["-a", "Frobnicate all files."]
    assert o.blocks == ["-o file", 'Write to file instead of "stdout".', "- a nested bullet"]


def test_blank_lines_and_spacing_inside_a_literal_block_stay_in_it() -> None:
    page = read_page(".TH X 1\n.SH EXAMPLES\nRun:\n.nf\nfirst\n\nsecond\n.sp\nthird\n.fi\nProse again.\n")
    assert page.parts[0].blocks == ["Run:", "```\nfirst\n\nsecond\n\nthird\n```", "Prose again."]
