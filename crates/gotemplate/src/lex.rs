//! Splits template source into tokens, as Go's `text/template/parse` lexer
//! does, with the action delimiters it is given (`{%` `%}` for the
//! operator's templates, as [`DEFAULT_DELIMS`]).

/// The operator's action delimiters.
pub(crate) const DEFAULT_DELIMS: Delims<'static> = Delims {
    left: "{%",
    right: "%}",
};

/// The strings that open and close an action.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Delims<'d> {
    pub left: &'d str,
    pub right: &'d str,
}

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Plain text outside actions (already trimmed by `{%-` / `-%}`).
    Text,
    LeftDelim,
    RightDelim,
    /// A run of white space inside an action; it separates arguments.
    Space,
    /// A function name.
    Identifier,
    /// `.name`; a chain `.a.b` is several consecutive field tokens.
    Field,
    /// `$` or `$name`.
    Variable,
    /// A quoted or raw string, still quoted.
    String,
    /// A character constant such as `'a'`, still quoted.
    Char,
    Number,
    Bool,
    Nil,
    Dot,
    Pipe,
    /// `:=`
    Declare,
    /// `=`
    Assign,
    LeftParen,
    RightParen,
    Comma,
    Keyword(Keyword),
    Eof,
}

/// The control words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keyword {
    If,
    Else,
    End,
    Range,
    With,
    Define,
    Template,
    Block,
    Break,
    Continue,
}

/// One token: its kind, its text, and its byte offset in the source.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Token<'a> {
    pub kind: Kind,
    pub text: &'a str,
    pub pos: usize,
}

/// A lexical error at a byte offset.
#[derive(Debug)]
pub(crate) struct LexError {
    pub pos: usize,
    pub message: String,
}

/// Tokenizes a whole template.
pub(crate) fn lex<'a>(src: &'a str, delims: Delims<'_>) -> Result<Vec<Token<'a>>, LexError> {
    let mut lexer = Lexer {
        src,
        delims,
        pos: 0,
        tokens: Vec::new(),
        parens: 0,
    };
    lexer.run()?;
    Ok(lexer.tokens)
}

struct Lexer<'a, 'd> {
    src: &'a str,
    delims: Delims<'d>,
    pos: usize,
    tokens: Vec<Token<'a>>,
    parens: usize,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alphanumeric(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// `{%-` followed by white space trims the text before the action
/// (`rest` follows the left delimiter).
fn has_left_trim(rest: &str) -> bool {
    let mut chars = rest.chars();
    chars.next() == Some('-') && chars.next().is_some_and(is_space)
}

/// White space then `-%}` trims the text after the action.
fn right_trim_len(rest: &str, right: &str) -> Option<usize> {
    let mut chars = rest.chars();
    let space = chars.next().filter(|c| is_space(*c))?;
    let after = &rest[space.len_utf8()..];
    (after.starts_with('-') && after[1..].starts_with(right))
        .then_some(space.len_utf8() + 1 + right.len())
}

impl<'a> Lexer<'a, '_> {
    fn err<T>(&self, pos: usize, message: impl Into<String>) -> Result<T, LexError> {
        Err(LexError {
            pos,
            message: message.into(),
        })
    }

    fn emit(&mut self, kind: Kind, start: usize) {
        self.tokens.push(Token {
            kind,
            text: &self.src[start..self.pos],
            pos: start,
        });
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn run(&mut self) -> Result<(), LexError> {
        let mut trim_next = false;
        loop {
            let start = self.pos;
            let left = self.delims.left;
            let delim = self.rest().find(left).map(|i| start + i);
            let end = delim.unwrap_or(self.src.len());
            let mut text = &self.src[start..end];
            let mut text_start = start;
            if trim_next {
                let trimmed = text.trim_start_matches(is_space);
                text_start += text.len() - trimmed.len();
                text = trimmed;
            }
            let left_trim = delim.is_some_and(|d| has_left_trim(&self.src[d + left.len()..]));
            if left_trim {
                text = text.trim_end_matches(is_space);
            }
            if !text.is_empty() {
                self.tokens.push(Token {
                    kind: Kind::Text,
                    text,
                    pos: text_start,
                });
            }
            let Some(delim) = delim else {
                self.pos = self.src.len();
                self.emit(Kind::Eof, self.pos);
                return Ok(());
            };
            self.pos = delim;
            trim_next = self.action(left_trim)?;
        }
    }

    /// Lexes one action starting at the left delimiter. Returns whether it
    /// ended with a right trim marker.
    fn action(&mut self, left_trim: bool) -> Result<bool, LexError> {
        let start = self.pos;
        self.pos += self.delims.left.len();
        if left_trim {
            self.pos += 2;
        }
        if self.rest().starts_with("/*") {
            return self.comment(start);
        }
        self.emit(Kind::LeftDelim, start);
        self.parens = 0;
        loop {
            if let Some(trim) = self.at_right_delim() {
                if self.parens > 0 {
                    return self.err(self.pos, "unclosed left paren");
                }
                let start = self.pos;
                self.pos += trim.unwrap_or(self.delims.right.len());
                self.emit(Kind::RightDelim, start);
                return Ok(trim.is_some());
            }
            self.inside_action()?;
        }
    }

    /// `Some(None)` at a plain right delimiter, `Some(Some(len))` at a
    /// trimming one of `len` bytes.
    fn at_right_delim(&self) -> Option<Option<usize>> {
        let (rest, right) = (self.rest(), self.delims.right);
        if let Some(len) = right_trim_len(rest, right) {
            return Some(Some(len));
        }
        rest.starts_with(right).then_some(None)
    }

    fn comment(&mut self, start: usize) -> Result<bool, LexError> {
        let Some(close) = self.rest().find("*/") else {
            return self.err(start, "unclosed comment");
        };
        self.pos += close + 2;
        match self.at_right_delim() {
            Some(trim) => {
                self.pos += trim.unwrap_or(self.delims.right.len());
                Ok(trim.is_some())
            }
            None => self.err(start, "comment ends before closing delimiter"),
        }
    }

    fn inside_action(&mut self) -> Result<(), LexError> {
        let start = self.pos;
        let Some(c) = self.bump() else {
            return self.err(start, "unclosed action");
        };
        match c {
            c if is_space(c) => self.space(start),
            '=' => self.emit(Kind::Assign, start),
            ':' => {
                if self.bump() != Some('=') {
                    return self.err(start, "expected :=");
                }
                self.emit(Kind::Declare, start);
            }
            '|' => self.emit(Kind::Pipe, start),
            ',' => self.emit(Kind::Comma, start),
            '"' => self.quote(start)?,
            '`' => self.raw_quote(start)?,
            '\'' => self.char_constant(start)?,
            '$' => self.field_or_variable(start, Kind::Variable)?,
            '.' if !self.peek().is_some_and(|c| c.is_ascii_digit()) => {
                self.field_or_variable(start, Kind::Field)?
            }
            '.' | '+' | '-' | '0'..='9' => {
                self.pos = start;
                self.number(start)?;
            }
            '(' => {
                self.parens += 1;
                self.emit(Kind::LeftParen, start);
            }
            ')' => {
                if self.parens == 0 {
                    return self.err(start, "unexpected right paren");
                }
                self.parens -= 1;
                self.emit(Kind::RightParen, start);
            }
            c if is_alphanumeric(c) => self.identifier(start)?,
            c => return self.err(start, format!("unrecognized character in action: {c:?}")),
        }
        Ok(())
    }

    fn space(&mut self, start: usize) {
        while let Some(c) = self.peek() {
            // Leave the space of a " -%}" trim marker to the delimiter.
            if right_trim_len(self.rest(), self.delims.right).is_some() || !is_space(c) {
                break;
            }
            self.bump();
        }
        if self.pos > start {
            self.emit(Kind::Space, start);
        }
    }

    /// Whether the next character ends an operand.
    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(' | '=') => true,
            Some(_) => self.rest().starts_with(self.delims.right),
        }
    }

    fn field_or_variable(&mut self, start: usize, kind: Kind) -> Result<(), LexError> {
        if self.at_terminator() {
            let kind = if kind == Kind::Field { Kind::Dot } else { kind };
            self.emit(kind, start);
            return Ok(());
        }
        while self.peek().is_some_and(is_alphanumeric) {
            self.bump();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or(' ');
            return self.err(self.pos, format!("bad character {c:?}"));
        }
        self.emit(kind, start);
        Ok(())
    }

    fn identifier(&mut self, start: usize) -> Result<(), LexError> {
        while self.peek().is_some_and(is_alphanumeric) {
            self.bump();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or(' ');
            return self.err(self.pos, format!("bad character {c:?}"));
        }
        let kind = match &self.src[start..self.pos] {
            "true" | "false" => Kind::Bool,
            "nil" => Kind::Nil,
            "if" => Kind::Keyword(Keyword::If),
            "else" => Kind::Keyword(Keyword::Else),
            "end" => Kind::Keyword(Keyword::End),
            "range" => Kind::Keyword(Keyword::Range),
            "with" => Kind::Keyword(Keyword::With),
            "define" => Kind::Keyword(Keyword::Define),
            "template" => Kind::Keyword(Keyword::Template),
            "block" => Kind::Keyword(Keyword::Block),
            "break" => Kind::Keyword(Keyword::Break),
            "continue" => Kind::Keyword(Keyword::Continue),
            _ => Kind::Identifier,
        };
        self.emit(kind, start);
        Ok(())
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.bump();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    /// Scans a number the way Go's lexer does; its value is checked by the parser.
    fn number(&mut self, start: usize) -> Result<(), LexError> {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if self.peek().is_some_and(is_alphanumeric) {
            self.bump();
            return self.err(
                start,
                format!("bad number syntax: {:?}", &self.src[start..self.pos]),
            );
        }
        self.emit(Kind::Number, start);
        Ok(())
    }

    fn quote(&mut self, start: usize) -> Result<(), LexError> {
        loop {
            match self.bump() {
                Some('\\') => {
                    if self.bump().is_none_or(|c| c == '\n') {
                        return self.err(start, "unterminated quoted string");
                    }
                }
                Some('"') => break,
                Some('\n') | None => return self.err(start, "unterminated quoted string"),
                Some(_) => {}
            }
        }
        self.emit(Kind::String, start);
        Ok(())
    }

    fn raw_quote(&mut self, start: usize) -> Result<(), LexError> {
        match self.rest().find('`') {
            Some(i) => self.pos += i + 1,
            None => return self.err(start, "unterminated raw quoted string"),
        }
        self.emit(Kind::String, start);
        Ok(())
    }

    fn char_constant(&mut self, start: usize) -> Result<(), LexError> {
        loop {
            match self.bump() {
                Some('\\') => {
                    if self.bump().is_none_or(|c| c == '\n') {
                        return self.err(start, "unterminated character constant");
                    }
                }
                Some('\'') => break,
                Some('\n') | None => return self.err(start, "unterminated character constant"),
                Some(_) => {}
            }
        }
        self.emit(Kind::Char, start);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Kind> {
        lex(src, DEFAULT_DELIMS)
            .map(|t| t.into_iter().map(|t| t.kind).collect())
            .unwrap_or_default()
    }

    #[test]
    fn trims_around_actions() {
        let tokens = lex("a  {%- .x -%}\n b", DEFAULT_DELIMS).unwrap_or_default();
        let texts: Vec<_> = tokens
            .iter()
            .filter(|t| t.kind == Kind::Text)
            .map(|t| t.text)
            .collect();
        assert_eq!(texts, ["a", "b"]);
    }

    #[test]
    fn a_dash_without_space_is_a_number_sign() {
        assert_eq!(
            kinds("{%-3%}"),
            [Kind::LeftDelim, Kind::Number, Kind::RightDelim, Kind::Eof]
        );
    }

    #[test]
    fn fields_chain_without_space() {
        assert_eq!(
            kinds("{% $x.a.b %}"),
            [
                Kind::LeftDelim,
                Kind::Space,
                Kind::Variable,
                Kind::Field,
                Kind::Field,
                Kind::Space,
                Kind::RightDelim,
                Kind::Eof
            ]
        );
    }

    #[test]
    fn reports_unclosed_actions_and_strings() {
        assert!(lex("{% .x", DEFAULT_DELIMS).is_err());
        assert!(lex("{% \"abc %}", DEFAULT_DELIMS).is_err());
        assert!(lex("{% (x %}", DEFAULT_DELIMS).is_err());
        assert!(lex("{%/* c %}", DEFAULT_DELIMS).is_err());
    }

    #[test]
    fn other_delimiters_leave_the_defaults_as_text() {
        let braces = Delims {
            left: "{{",
            right: "}}",
        };
        let tokens =
            lex("{% x %} {{- .a }}{{/* c */}} {{ \"}}\" -}}\n", braces).unwrap_or_default();
        let shown: Vec<_> = tokens.iter().map(|t| (t.kind, t.text)).collect();
        assert_eq!(
            shown,
            [
                (Kind::Text, "{% x %}"),
                (Kind::LeftDelim, "{{- "),
                (Kind::Field, ".a"),
                (Kind::Space, " "),
                (Kind::RightDelim, "}}"),
                (Kind::Text, " "),
                (Kind::LeftDelim, "{{"),
                (Kind::Space, " "),
                (Kind::String, "\"}}\""),
                (Kind::RightDelim, " -}}"),
                (Kind::Eof, ""),
            ]
        );
    }

    #[test]
    fn comments_produce_no_tokens() {
        assert_eq!(kinds("a {%- /* c */ -%} b").len(), 3);
    }
}
