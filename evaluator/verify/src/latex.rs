//! The LaTeX command table: what each command name the verifier knows means.
//!
//! The lexer reads spacing, text and symbol commands from here ([`SPACING`], [`TEXT_COMMANDS`], [`symbol`]); the
//! parser reads functions, wrappers and constructs compared only structurally ([`function`], [`TRANSPARENT`],
//! [`OPAQUE`], [`ends_primary`]); the extractor reads the commands it repairs when their backslash was doubled
//! ([`DOUBLE_ESCAPED`]) and the command names that are not prose when written bare ([`is_bare_command_word`]).

use crate::ast::{Func, SetOp};
use crate::lexer::Kind;

/// The function a name denotes (`sin`, `\arctan`, `ln`; `log` without a base is the natural logarithm).
pub(crate) fn function(name: &str) -> Option<Func> {
    Some(match name {
        "sin" => Func::Sin,
        "cos" => Func::Cos,
        "tan" | "tg" => Func::Tan,
        "sec" => Func::Sec,
        "csc" | "cosec" => Func::Csc,
        "cot" | "ctg" => Func::Cot,
        "arcsin" | "asin" => Func::Asin,
        "arccos" | "acos" => Func::Acos,
        "arctan" | "atan" => Func::Atan,
        "sinh" => Func::Sinh,
        "cosh" => Func::Cosh,
        "tanh" => Func::Tanh,
        "ln" | "log" | "lg" => Func::Ln,
        "exp" => Func::Exp,
        _ => return None,
    })
}

/// Commands whose argument is a group read as math (`\mathrm{e}`, `\overline{AB}`, `\boxed{…}`).
pub(crate) const TRANSPARENT: &[&str] = &[
    "mathrm",
    "mathbf",
    "mathit",
    "mathsf",
    "mathtt",
    "mathnormal",
    "boldsymbol",
    "bm",
    "operatorname",
    "mathbb",
    "mathcal",
    "mathfrak",
    "vec",
    "overline",
    "underline",
    "hat",
    "bar",
    "widehat",
    "widetilde",
    "tilde",
    "overrightarrow",
    "overleftrightarrow",
    "boxed",
    "fbox",
    "framebox",
    "pmb",
    "color",
    "textcolor",
    "phantom",
];

/// Commands whose braced argument is prose, lexed as one [`Kind::Text`] token.
pub(crate) const TEXT_COMMANDS: &[&str] =
    &["text", "textbf", "textit", "textrm", "textsf", "texttt", "textnormal", "mbox", "hbox", "emph", "textup"];

/// Commands that only change spacing or size: dropped.
pub(crate) const SPACING: &[&str] = &[
    "quad",
    "qquad",
    "left",
    "right",
    "big",
    "Big",
    "bigg",
    "Bigg",
    "bigl",
    "bigr",
    "Bigl",
    "Bigr",
    "biggl",
    "biggr",
    "Biggl",
    "Biggr",
    "displaystyle",
    "textstyle",
    "scriptstyle",
    "limits",
    "nolimits",
    "middle",
    "enspace",
    "thinspace",
    "negthinspace",
    "medspace",
    "thickspace",
    "hfill",
    "noindent",
    "nonumber",
    "notag",
    "newline",
    "cr",
    "relax",
];

/// The token a symbol command stands for (`\le` is `≤`, `\cdot` a product, `\circ` a degree sign); `None` for the
/// other commands, which the lexer keeps as [`Kind::Command`].
pub(crate) fn symbol(name: &str) -> Option<Kind> {
    Some(match name {
        "pm" | "mp" => Kind::PlusMinus,
        "cdot" | "ast" | "bullet" => Kind::Dot,
        "times" => Kind::Times,
        "div" => Kind::Slash,
        "le" | "leq" | "leqslant" | "leqq" => Kind::Le,
        "ge" | "geq" | "geqslant" | "geqq" => Kind::Ge,
        "lt" => Kind::Lt,
        "gt" => Kind::Gt,
        "ne" | "neq" => Kind::Ne,
        "approx" | "simeq" | "thickapprox" => Kind::Approx,
        "infty" | "infin" | "infinity" => Kind::Infinity,
        "pi" => Kind::Pi,
        "circ" | "degree" | "degrees" => Kind::Degree,
        "lvert" | "rvert" | "vert" | "mid" => Kind::Pipe,
        "lbrace" => Kind::SetOpen,
        "rbrace" => Kind::SetClose,
        "colon" => Kind::Colon,
        "prime" => Kind::Prime,
        _ => return None,
    })
}

/// Commands written with a doubled backslash (`\\boxed`, `\\frac`) by escaping mistakes: the extractor reads them
/// as single.
pub(crate) const DOUBLE_ESCAPED: &[&str] = &[
    "boxed", "frac", "dfrac", "tfrac", "left", "right", "sqrt", "text", "le", "leq", "ge", "geq", "cdot", "times",
    "pi", "infty", "cup", "in", "pm", "quad", "mathrm", "textbf",
];

/// Command names that are not prose when a text writes them without their backslash (`sqrt`, `frac`, `pi`).
pub(crate) fn is_bare_command_word(w: &str) -> bool {
    matches!(w, "sqrt" | "frac" | "dfrac" | "text" | "pi")
}

/// Commands read as a construct compared only structurally (sums, integrals, limits, `\max`, `\gcd`, `\pmod`):
/// their subscript, superscript and operand are kept as parts.
pub(crate) const OPAQUE: &[&str] = &[
    "sum", "prod", "int", "lim", "iint", "oint", "max", "min", "gcd", "lcm", "det", "arg", "deg", "mod", "bmod", "pmod",
];

/// The set operation a command denotes (`\cup`, `\cap`, `\setminus` and their variants).
pub(crate) fn set_operation(name: &str) -> Option<SetOp> {
    Some(match name {
        "cup" | "bigcup" => SetOp::Union,
        "cap" | "bigcap" => SetOp::Intersection,
        "setminus" | "backslash" => SetOp::Minus,
        _ => return None,
    })
}

/// Commands after which no implicit product continues: relations, set operations, arrows, dots and closing
/// delimiters (`2 \cup 3` is not `2·∪·3`).
pub(crate) fn ends_operand(name: &str) -> bool {
    set_operation(name).is_some()
        || matches!(
            name,
            "in" | "equiv"
                | "dots"
                | "ldots"
                | "cdots"
                | "to"
                | "rightarrow"
                | "Rightarrow"
                | "implies"
                | "iff"
                | "quad"
                | "rfloor"
                | "rceil"
                | "rangle"
                | "coloneqq"
                | "eqqcolon"
        )
}
