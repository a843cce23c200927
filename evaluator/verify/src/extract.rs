//! Extraction: the final answer inside a whole response or worked solution.
//!
//! In order: the last `\boxed{…}`/`\fbox{…}` (with boxes just before it joined when only "and", "or" or
//! punctuation separate them), the text after the last "final answer is" / "answer is" / "answer:", the last math
//! segment (`$…$`, `$$…$$`, `\(…\)`, `\[…\]`, joined the same way), the whole text when it is short, and at last
//! the last number in the text.

use crate::latex;
use crate::lexer::matching_brace;
use crate::words;

/// Undoes `\\name` → `\name` for known command names (keeps real row breaks `\\`).
pub(crate) fn undouble(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains("\\\\") {
        return s.into();
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut last = 0;
    while i + 1 < b.len() {
        if b[i] == b'\\' && b[i + 1] == b'\\' {
            let rest = &s[i + 2..];
            let name_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            if name_len > 0 && latex::DOUBLE_ESCAPED.contains(&&rest[..name_len]) {
                out.push_str(&s[last..i]);
                last = i + 1;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    out.push_str(&s[last..]);
    out.into()
}

/// The final answer in `text`, or `None` when nothing looks like one.
///
/// `lenient_last_line` also accepts the last integer on the last line when nothing else is found (the reference
/// implementation's rule; off by default).
pub(crate) fn extract(text: &str, lenient_last_line: bool) -> Option<String> {
    let text = undouble(text);
    let text = text.as_ref();
    let last_box_end = boxes(text).last().map(|b| b.2);
    let marker = after_marker(text);
    // A "final answer is" sentence after the last box restates the answer: it wins.
    if let Some((a, at)) = &marker
        && last_box_end.is_none_or(|e| *at > e)
    {
        return Some(a.clone());
    }
    if let Some(b) = boxed(text) {
        return Some(b);
    }
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return None;
    }
    if is_short_answer(trimmed) && segments(trimmed).is_empty() {
        return Some(trimmed.to_string());
    }
    if let Some((m, end)) = math_segments(text) {
        // A plain number after the last math segment is the later answer (Math-Verify's rule too).
        if let Some(n) = last_number(&text[end..]) {
            return Some(n);
        }
        return Some(m);
    }
    if let Some(n) = last_number(text) {
        return Some(n);
    }
    if lenient_last_line {
        let line = text.lines().rev().find(|l| !l.trim().is_empty())?;
        return last_number(line);
    }
    None
}

/// Short text without sentences is taken whole (`28 percent`, `x^2+1`, `Evelyn`); prose words beside digits
/// (`Soucis : 2,74`) make it a sentence whose last number is the answer.
fn is_short_answer(t: &str) -> bool {
    let mut words: Vec<&str> = Vec::new();
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_alphabetic() {
            let start = i;
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            // LaTeX command and environment names, subscripts and capital labels are not prose.
            let after = if start == 0 { b' ' } else { b[start - 1] };
            let word = &t[start..i];
            if !matches!(after, b'\\' | b'{' | b'_') && word.bytes().any(|c| c.is_ascii_lowercase()) {
                words.push(&t[start..i]);
            }
        } else {
            i += 1;
        }
    }
    let words: Vec<&str> = words
        .into_iter()
        .filter(|w| w.len() >= 3)
        .filter(|w| !words::is_unit(w) && !words::is_percent_word(w) && *w != "and" && !latex::is_bare_command_word(w))
        .collect();
    let prose_with_digits = !words.is_empty() && t.bytes().any(|c| c.is_ascii_digit()) && !t.contains('\\');
    t.len() <= crate::MAX_ANSWER_LEN && words.len() <= 3 && !t.contains(". ") && !prose_with_digits
}

/// The `(start, end)` byte ranges of each box's content.
fn boxes(text: &str) -> Vec<(usize, usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(k) = text[i..].find('\\') {
        let at = i + k;
        let rest = &text[at + 1..];
        let name_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let name = &rest[..name_len];
        i = at + 1 + name_len;
        if !matches!(name, "boxed" | "fbox" | "framebox") {
            continue;
        }
        let mut j = i;
        while j < b.len() && b[j] == b' ' {
            j += 1;
        }
        if b.get(j) == Some(&b'{') {
            let end = matching_brace(b, j);
            out.push((at, j + 1, end));
            i = (end + 1).min(b.len());
        } else if j > i {
            // `\boxed 7`: up to the next space or `$`.
            let end = text[j..].find([' ', '$', '\n']).map_or(text.len(), |e| j + e);
            out.push((at, j, end));
            i = end;
        }
    }
    out
}

/// Whether the text between two answers joins them into one list ("and", "or", punctuation, `\quad`).
fn joins(gap: &str) -> bool {
    let mut cleaned = String::new();
    let mut i = 0;
    let b = gap.as_bytes();
    while i < b.len() {
        if b[i] == b'\\' {
            let name_len = gap[i + 1..].bytes().take_while(u8::is_ascii_alphabetic).count();
            let name = &gap[i + 1..i + 1 + name_len];
            // `\` + a non-letter: skip that whole character (it may be multi-byte).
            i += 1 + if name_len > 0 { name_len } else { gap[i + 1..].chars().next().map_or(0, char::len_utf8) };
            if !matches!(name, "text" | "textbf" | "mbox" | "quad" | "qquad" | "" | "textnormal" | "mathrm") {
                cleaned.push_str(" \\ ");
            }
            continue;
        }
        let c = gap[i..].chars().next().unwrap_or(' ');
        cleaned.push(if c.is_alphanumeric() || c == '(' || c == ')' { c } else { ' ' });
        i += c.len_utf8();
    }
    let mut words: Vec<&str> = cleaned.split_whitespace().collect();
    // `… and \( y_2 = \boxed{…}`: a short label before the next answer.
    if gap.trim_end().ends_with('=') && words.len() >= 2 {
        let label_len = words.iter().rev().take_while(|w| w.len() <= 2 && **w != "and" && **w != "or").count();
        words.truncate(words.len() - label_len.min(words.len()));
    }
    match words.last() {
        None => true,
        Some(w) => {
            matches!(w.to_ascii_lowercase().as_str(), "and" | "or") && words.len() <= 6 && !words.contains(&"\\")
        }
    }
}

fn boxed(text: &str) -> Option<String> {
    let bx = boxes(text);
    let last = bx.last()?;
    let mut parts = vec![&text[last.1..last.2]];
    let mut k = bx.len() - 1;
    while k > 0 {
        let prev = bx[k - 1];
        let gap = &text[prev.2.min(bx[k].0)..bx[k].0];
        if !joins(gap.get(1..).unwrap_or("")) {
            break;
        }
        parts.push(&text[prev.1..prev.2]);
        k -= 1;
    }
    parts.reverse();
    Some(parts.join("; "))
}

/// Text after the last "answer is" / "answer:" marker, up to the end of its sentence, and where the marker is.
fn after_marker(text: &str) -> Option<(String, usize)> {
    let lower = text.to_ascii_lowercase();
    let mut best: Option<usize> = None;
    for m in ["answer is", "answer:", "answer is:"] {
        if let Some(k) = lower.rfind(m) {
            let end = k + m.len();
            if best.is_none_or(|b| end > b) {
                best = Some(end);
            }
        }
    }
    let start = best?;
    let tail = &text[start..];
    // The sentence ends at a newline, "I hope", or a period followed by a space or the end.
    let mut end = tail.len();
    if let Some(k) = tail.find('\n') {
        end = end.min(k);
    }
    if let Some(k) = tail.to_ascii_lowercase().find("i hope") {
        end = end.min(k);
    }
    let tb = tail.as_bytes();
    let mut in_math = false;
    for (k, &c) in tb.iter().enumerate().take(end) {
        if c == b'$' {
            in_math = !in_math;
        }
        if c == b'.' && !in_math && !tb.get(k + 1).is_some_and(u8::is_ascii_digit) {
            end = end.min(k);
            break;
        }
    }
    let mut sentence = tail[..end].trim();
    // "The final answer is: the volume of $V$ is 120": the last " is ".
    if let Some(k) = sentence.rfind(" is ") {
        sentence = &sentence[k + 4..];
    }
    let sentence = sentence.trim().trim_start_matches(':').trim();
    let lower = sentence.to_ascii_lowercase();
    // "our answer is correct": a remark, not an answer.
    let remark = ["correct", "incorrect", "right", "wrong", "as follows", "below", "not ", "that", "the same"];
    if sentence.is_empty() || remark.iter().any(|r| lower.starts_with(r)) {
        return None;
    }
    if let Some((m, _)) = math_segments(sentence) {
        return Some((m, start));
    }
    if is_short_answer(sentence) {
        return Some((sentence.trim_end_matches(['.', ',']).to_string(), start));
    }
    last_number(sentence).map(|n| (n, start))
}

/// Math segments `$…$`, `$$…$$`, `\(…\)`, `\[…\]` as content ranges.
fn segments(text: &str) -> Vec<(usize, usize, usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let (open_len, close): (usize, &[u8]) = match b[i] {
            b'\\' if i > 0 && b[i - 1] == b'\\' => {
                i += 1;
                continue;
            }
            b'\\' if b.get(i + 1) == Some(&b'$') => {
                i += 2;
                continue;
            }
            b'$' if b.get(i + 1) == Some(&b'$') => (2, b"$$"),
            b'$' => (1, b"$"),
            b'\\' if b.get(i + 1) == Some(&b'(') => (2, b"\\)"),
            b'\\' if b.get(i + 1) == Some(&b'[') => (2, b"\\]"),
            _ => {
                i += 1;
                continue;
            }
        };
        let start = i + open_len;
        let mut j = start;
        let mut found = None;
        while j + close.len() <= b.len() {
            if b[j] == b'\\' && close.len() == 1 && b.get(j + 1) == Some(&b'$') {
                j += 2;
                continue;
            }
            if &b[j..j + close.len()] == close {
                found = Some(j);
                break;
            }
            j += 1;
        }
        match found {
            Some(end) => {
                out.push((i, start, end, end + close.len()));
                i = end + close.len();
            }
            None => i += open_len,
        }
    }
    out
}

/// The last math segment (joined with those before it) and the byte where it ends.
fn math_segments(text: &str) -> Option<(String, usize)> {
    let segs = segments(text);
    let last = segs.last()?;
    let mut parts = vec![&text[last.1..last.2]];
    let mut k = segs.len() - 1;
    while k > 0 {
        let prev = segs[k - 1];
        if !joins(&text[prev.3..segs[k].0]) {
            break;
        }
        parts.push(&text[prev.1..prev.2]);
        k -= 1;
    }
    parts.reverse();
    // A percent sign or word right after the last segment belongs to it (`$28$ %`).
    let after = text[last.3..].trim_start();
    let mut joined = parts.join("; ");
    for w in ["\\%", "%", "percent"] {
        if after.starts_with(w) {
            joined.push_str(" \\%");
            break;
        }
    }
    if joined.trim().is_empty() {
        return None;
    }
    Some((joined, last.3))
}

/// The last number in prose: not glued to a letter on its left; `2/3` and thousands groups included.
pub(crate) fn last_number(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut best = None;
    let mut i = 0;
    while i < b.len() {
        let starts = b[i].is_ascii_digit() || (b[i] == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit));
        if !starts || (i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b'^')) {
            i += 1;
            continue;
        }
        let mut start = i;
        if start > 0 && b[start - 1] == b'-' {
            start -= 1;
        }
        let mut j = i;
        loop {
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
                j += 1;
            }
            // `1,000.99`, `2,74` and `2/3` continue the number.
            if j + 1 < b.len() && (b[j] == b',' || b[j] == b'/') && b[j + 1].is_ascii_digit() {
                j += 1;
                continue;
            }
            break;
        }
        let mut end = j;
        while end > i && b[end - 1] == b'.' {
            end -= 1;
        }
        best = Some((start, end));
        i = j.max(i + 1);
    }
    best.map(|(s, e)| text[s..e].to_string())
}
