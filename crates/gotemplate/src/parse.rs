//! Builds the syntax tree of a template from its tokens, with Go's grammar
//! and Go's parse-time checks (unknown functions, undefined variables,
//! unclosed blocks).

use std::collections::HashMap;
use std::sync::Arc;

use crate::funcs::Func;
use crate::lex::{self, Keyword, Kind, Token};
use crate::syntax::{DynFunc, Syntax};

/// How deeply actions, blocks and parentheses may nest; deeper input is
/// rejected instead of exhausting the stack.
const MAX_DEPTH: usize = 100;

/// A sequence of nodes.
pub(crate) type List = Vec<Node>;

/// A node of the template body.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(Box<str>),
    /// `{% pipeline %}`: prints the value unless the pipeline declares variables.
    Action(Pipe),
    If(Branch),
    With(Branch),
    Range(Branch),
    /// `{% template "name" pipeline %}`.
    Template {
        pos: usize,
        name: Box<str>,
        pipe: Option<Pipe>,
    },
    Break,
    Continue,
}

/// The shared shape of `if`, `with` and `range`.
#[derive(Debug, Clone)]
pub(crate) struct Branch {
    pub pipe: Pipe,
    pub list: List,
    pub else_list: Option<List>,
}

/// A pipeline: optional variable declarations, then commands joined by `|`.
#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    pub pos: usize,
    /// `$x = ...` assigns an existing variable; `$x := ...` declares one.
    pub assign: bool,
    pub decl: Vec<Box<str>>,
    pub cmds: Vec<Command>,
}

/// One command of a pipeline: an operand followed by its arguments.
#[derive(Debug, Clone)]
pub(crate) struct Command {
    /// Byte range of the command in the source, for error messages.
    pub span: (usize, usize),
    pub args: Vec<Operand>,
}

/// A function as the parser resolved it.
#[derive(Clone)]
pub(crate) enum FuncRef {
    /// `and` and `or` evaluate their arguments lazily.
    And,
    Or,
    Call(Func),
    /// A function the host added ([`Syntax::with_func`]).
    Dyn(DynFunc),
}

impl std::fmt::Debug for FuncRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FuncRef::And => "And",
            FuncRef::Or => "Or",
            FuncRef::Call(_) => "Call",
            FuncRef::Dyn(_) => "Dyn",
        })
    }
}

/// An operand of a command.
#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Dot,
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(Arc<str>),
    /// `.a.b`
    Field(Vec<Box<str>>),
    /// `$x.a.b`
    Variable(Box<str>, Vec<Box<str>>),
    /// A function name.
    Func(Box<str>, FuncRef),
    /// `( pipeline )`
    Pipe(Box<Pipe>),
    /// A field chain on another operand: `(pipeline).a.b`.
    Chain(Box<Operand>, Vec<Box<str>>),
}

/// A parse error at a byte offset.
#[derive(Debug)]
pub(crate) struct ParseError {
    pub pos: usize,
    pub message: String,
}

impl From<lex::LexError> for ParseError {
    fn from(e: lex::LexError) -> Self {
        ParseError {
            pos: e.pos,
            message: e.message,
        }
    }
}

/// A template source and the name it was parsed under (a file name), for
/// error positions.
#[derive(Debug)]
pub(crate) struct Source {
    pub name: Box<str>,
    pub src: Box<str>,
}

/// A `define`d template and the source it was parsed from.
#[derive(Debug)]
pub(crate) struct Defined {
    pub list: List,
    pub source: Arc<Source>,
}

/// The parsed body of one source and the `define`d templates it can call
/// (its own, and those of the sources it was parsed with).
pub(crate) struct Tree {
    pub root: List,
    pub defines: HashMap<Box<str>, Arc<Defined>>,
}

impl Tree {
    /// Whether the body outside `define`s is only white space, which Go
    /// does not count as a definition.
    pub fn root_is_empty(&self) -> bool {
        self.root
            .iter()
            .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
    }
}

/// Parses a whole template source.
pub(crate) fn parse(source: &Arc<Source>, syntax: &Syntax) -> Result<Tree> {
    let tokens = lex::lex(&source.src, syntax.delims())?;
    let mut parser = Parser {
        source: source.clone(),
        syntax,
        tokens,
        i: 0,
        vars: vec!["$".into()],
        range_depth: 0,
        depth: 0,
        defines: HashMap::new(),
    };
    let root = parser.top_level()?;
    Ok(Tree {
        root,
        defines: parser.defines,
    })
}

type Result<T> = std::result::Result<T, ParseError>;

struct Parser<'a, 's> {
    source: Arc<Source>,
    syntax: &'s Syntax,
    tokens: Vec<Token<'a>>,
    i: usize,
    /// Variables in scope, innermost last.
    vars: Vec<Box<str>>,
    range_depth: usize,
    depth: usize,
    defines: HashMap<Box<str>, Arc<Defined>>,
}

/// What ended an item list.
enum ListEnd {
    End,
    Else,
}

impl<'a> Parser<'a, '_> {
    fn err<T>(&self, pos: usize, message: impl Into<String>) -> Result<T> {
        Err(ParseError {
            pos,
            message: message.into(),
        })
    }

    fn unexpected<T>(&self, token: Token<'_>, context: &str) -> Result<T> {
        let what = match token.kind {
            Kind::Eof => "EOF".to_string(),
            Kind::RightDelim => format!("{:?}", self.syntax.delims().right),
            _ => format!("{:?}", token.text),
        };
        self.err(token.pos, format!("unexpected {what} in {context}"))
    }

    fn peek(&self) -> Token<'a> {
        self.tokens
            .get(self.i)
            .or_else(|| self.tokens.last())
            .copied()
            .unwrap_or(Token {
                kind: Kind::Eof,
                text: "",
                pos: 0,
            })
    }

    fn next(&mut self) -> Token<'a> {
        let token = self.peek();
        if self.i < self.tokens.len() {
            self.i += 1;
        }
        token
    }

    fn skip_space(&mut self) {
        while self.peek().kind == Kind::Space {
            self.i += 1;
        }
    }

    fn next_non_space(&mut self) -> Token<'a> {
        self.skip_space();
        self.next()
    }

    /// Skips white space, then returns the next token without consuming it.
    fn peek_non_space(&mut self) -> Token<'a> {
        self.skip_space();
        self.peek()
    }

    fn expect(&mut self, kind: Kind, context: &str) -> Result<Token<'a>> {
        let token = self.next_non_space();
        if token.kind != kind {
            return self.unexpected(token, context);
        }
        Ok(token)
    }

    fn enter(&mut self, pos: usize) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err(
                pos,
                format!("template nests deeper than {MAX_DEPTH} levels"),
            );
        }
        Ok(())
    }

    fn top_level(&mut self) -> Result<List> {
        let mut root = List::new();
        while self.peek().kind != Kind::Eof {
            if self.peek().kind == Kind::LeftDelim {
                let save = self.i;
                self.next();
                if self.next_non_space().kind == Kind::Keyword(Keyword::Define) {
                    self.definition()?;
                    continue;
                }
                self.i = save;
            }
            match self.text_or_action()? {
                Parsed::Node(node) => root.push(node),
                Parsed::End(pos, _) => {
                    let (end, other) = (self.syntax.action("end"), self.syntax.action("else"));
                    return self.err(pos, format!("unexpected {end} or {other}"));
                }
            }
        }
        Ok(root)
    }

    /// `{% define "name" %} ... {% end %}`; the `define` keyword is consumed.
    fn definition(&mut self) -> Result<()> {
        let token = self.next_non_space();
        let name = self.template_name(token, "define clause")?;
        self.expect(Kind::RightDelim, "define clause")?;
        let outer = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, end) = self.item_list()?;
        self.vars = outer;
        if let ListEnd::Else = end {
            let other = self.syntax.action("else");
            return self.err(token.pos, format!("unexpected {other} in define clause"));
        }
        self.define(name, list);
        Ok(())
    }

    fn define(&mut self, name: Box<str>, list: List) {
        let source = self.source.clone();
        self.defines
            .insert(name, Arc::new(Defined { list, source }));
    }

    fn text_or_action(&mut self) -> Result<Parsed> {
        let token = self.next_non_space();
        match token.kind {
            Kind::Text => Ok(Parsed::Node(Node::Text(token.text.into()))),
            Kind::LeftDelim => {
                self.enter(token.pos)?;
                let parsed = self.action();
                self.depth -= 1;
                parsed
            }
            _ => self.unexpected(token, "input"),
        }
    }

    /// Parses until `{% end %}` or `{% else %}`.
    fn item_list(&mut self) -> Result<(List, ListEnd)> {
        let mut list = List::new();
        while self.peek_non_space().kind != Kind::Eof {
            match self.text_or_action()? {
                Parsed::Node(node) => list.push(node),
                Parsed::End(_, end) => return Ok((list, end)),
            }
        }
        let pos = self.peek().pos;
        let end = self.syntax.action("end");
        self.err(pos, format!("unexpected EOF: a block is missing its {end}"))
    }

    /// The inside of `{% ... %}`, after the left delimiter.
    fn action(&mut self) -> Result<Parsed> {
        let token = self.next_non_space();
        let Kind::Keyword(keyword) = token.kind else {
            self.i -= 1;
            let pipe = self.pipeline("command", Kind::RightDelim)?;
            return Ok(Parsed::Node(Node::Action(pipe)));
        };
        let pos = token.pos;
        match keyword {
            Keyword::If => Ok(Parsed::Node(Node::If(self.control(true, "if")?))),
            Keyword::With => Ok(Parsed::Node(Node::With(self.control(false, "with")?))),
            Keyword::Range => Ok(Parsed::Node(Node::Range(self.control(false, "range")?))),
            Keyword::End => {
                self.expect(Kind::RightDelim, "end")?;
                Ok(Parsed::End(pos, ListEnd::End))
            }
            Keyword::Else => {
                // `else if` leaves the `if` pending for the enclosing control.
                if self.peek_non_space().kind != Kind::Keyword(Keyword::If) {
                    self.expect(Kind::RightDelim, "else")?;
                }
                Ok(Parsed::End(pos, ListEnd::Else))
            }
            Keyword::Break | Keyword::Continue => {
                if self.range_depth == 0 {
                    let (this, range) =
                        (self.syntax.action(token.text), self.syntax.action("range"));
                    return self.err(pos, format!("{this} outside {range}"));
                }
                self.expect(Kind::RightDelim, token.text)?;
                Ok(Parsed::Node(if keyword == Keyword::Break {
                    Node::Break
                } else {
                    Node::Continue
                }))
            }
            Keyword::Template => self.template_call(pos, "template clause").map(Parsed::Node),
            Keyword::Block => self.block(pos),
            Keyword::Define => {
                let define = self.syntax.action("define");
                self.err(pos, format!("{define} is only allowed at the top level"))
            }
        }
    }

    fn template_name(&self, token: Token<'_>, context: &str) -> Result<Box<str>> {
        match token.kind {
            Kind::String => Ok(Box::from(&*unquote(token.text).map_err(|m| {
                ParseError {
                    pos: token.pos,
                    message: m,
                }
            })?)),
            _ => self.unexpected(token, context),
        }
    }

    fn template_call(&mut self, pos: usize, context: &str) -> Result<Node> {
        let token = self.next_non_space();
        let name = self.template_name(token, context)?;
        let pipe = if self.peek_non_space().kind == Kind::RightDelim {
            self.next();
            None
        } else {
            Some(self.pipeline(context, Kind::RightDelim)?)
        };
        Ok(Node::Template { pos, name, pipe })
    }

    /// `{% block "name" pipeline %} body {% end %}`: defines `name` and calls it.
    fn block(&mut self, pos: usize) -> Result<Parsed> {
        let token = self.next_non_space();
        let name = self.template_name(token, "block clause")?;
        let pipe = self.pipeline("block clause", Kind::RightDelim)?;
        let outer = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let body = self.item_list();
        self.vars = outer;
        let (list, end) = body?;
        if let ListEnd::Else = end {
            let other = self.syntax.action("else");
            return self.err(pos, format!("unexpected {other} in block clause"));
        }
        self.define(name.clone(), list);
        Ok(Parsed::Node(Node::Template {
            pos,
            name,
            pipe: Some(pipe),
        }))
    }

    /// `if`, `with` and `range`: pipeline, body, optional else, end.
    fn control(&mut self, allow_else_if: bool, context: &str) -> Result<Branch> {
        let scope = self.vars.len();
        let result = self.control_inner(allow_else_if, context);
        self.vars.truncate(scope);
        result
    }

    fn control_inner(&mut self, allow_else_if: bool, context: &str) -> Result<Branch> {
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        let is_range = context == "range";
        self.range_depth += usize::from(is_range);
        let body = self.item_list();
        self.range_depth -= usize::from(is_range);
        let (list, end) = body?;
        let else_list = match end {
            ListEnd::End => None,
            ListEnd::Else
                if allow_else_if && self.peek_non_space().kind == Kind::Keyword(Keyword::If) =>
            {
                // `{% else if x %}` is `{% else %}{% if x %}...{% end %}` sharing one end.
                let token = self.next();
                self.enter(token.pos)?;
                let nested = self.control(true, "if");
                self.depth -= 1;
                Some(vec![Node::If(nested?)])
            }
            ListEnd::Else => {
                let (list, end) = self.item_list()?;
                if let ListEnd::Else = end {
                    return self.err(pipe.pos, format!("expected end; found else in {context}"));
                }
                Some(list)
            }
        };
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn pipeline(&mut self, context: &str, end: Kind) -> Result<Pipe> {
        let pos = self.peek_non_space().pos;
        let mut pipe = Pipe {
            pos,
            assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        self.declarations(&mut pipe, context)?;
        loop {
            let token = self.next_non_space();
            match token.kind {
                k if k == end => {
                    self.check_pipeline(&pipe, context, token.pos)?;
                    return Ok(pipe);
                }
                Kind::Bool
                | Kind::Char
                | Kind::Dot
                | Kind::Field
                | Kind::Identifier
                | Kind::Number
                | Kind::Nil
                | Kind::String
                | Kind::Variable
                | Kind::LeftParen => {
                    self.i -= 1;
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(token, context),
            }
        }
    }

    /// `$x :=`, `$x =`, and `$i, $v :=` in range.
    fn declarations(&mut self, pipe: &mut Pipe, context: &str) -> Result<()> {
        loop {
            let var = self.peek_non_space();
            if var.kind != Kind::Variable {
                return Ok(());
            }
            let save = self.i;
            self.next();
            let next = self.peek_non_space();
            match next.kind {
                Kind::Assign | Kind::Declare => {
                    self.next();
                    pipe.assign = next.kind == Kind::Assign;
                    if pipe.assign && !self.vars.iter().any(|v| **v == *var.text) {
                        return self.err(var.pos, format!("undefined variable {:?}", var.text));
                    }
                    pipe.decl.push(var.text.into());
                    self.vars.push(var.text.into());
                    return Ok(());
                }
                Kind::Comma => {
                    self.next();
                    pipe.decl.push(var.text.into());
                    self.vars.push(var.text.into());
                    let second = self.peek_non_space().kind;
                    if context == "range" && pipe.decl.len() < 2 && second == Kind::Variable {
                        continue;
                    }
                    if context == "range" && pipe.decl.len() < 2 {
                        return self.err(var.pos, "range can only initialize variables");
                    }
                    return self.err(var.pos, format!("too many declarations in {context}"));
                }
                _ => {
                    self.i = save;
                    return Ok(());
                }
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str, pos: usize) -> Result<()> {
        if pipe.cmds.is_empty() {
            return self.err(pos, format!("missing value for {context}"));
        }
        for (i, cmd) in pipe.cmds.iter().enumerate().skip(1) {
            if let Some(
                Operand::Bool(_)
                | Operand::Dot
                | Operand::Nil
                | Operand::Int(_)
                | Operand::Float(_)
                | Operand::String(_),
            ) = cmd.args.first()
            {
                return self.err(
                    cmd.span.0,
                    format!("non executable command in pipeline stage {}", i + 1),
                );
            }
        }
        Ok(())
    }

    fn command(&mut self) -> Result<Command> {
        let start = self.peek_non_space().pos;
        let mut args = Vec::new();
        loop {
            self.skip_space();
            if let Some(operand) = self.operand()? {
                args.push(operand);
            }
            let token = self.next();
            match token.kind {
                Kind::Space => continue,
                Kind::RightDelim | Kind::RightParen => self.i -= 1,
                Kind::Pipe => {}
                _ => return self.unexpected(token, "operand"),
            }
            break;
        }
        let end = self.peek().pos;
        if args.is_empty() {
            return self.err(start, "empty command");
        }
        Ok(Command {
            span: (start, end),
            args,
        })
    }

    fn operand(&mut self) -> Result<Option<Operand>> {
        let Some(term) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != Kind::Field {
            return Ok(Some(term));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().kind == Kind::Field {
            fields.push(Box::from(&self.next().text[1..]));
        }
        Ok(Some(match term {
            Operand::Field(mut chain) => {
                chain.extend(fields);
                Operand::Field(chain)
            }
            Operand::Variable(name, mut chain) => {
                chain.extend(fields);
                Operand::Variable(name, chain)
            }
            Operand::Bool(_)
            | Operand::String(_)
            | Operand::Int(_)
            | Operand::Float(_)
            | Operand::Nil
            | Operand::Dot => return self.err(pos, "unexpected . after term"),
            other => Operand::Chain(Box::new(other), fields),
        }))
    }

    fn term(&mut self) -> Result<Option<Operand>> {
        let token = self.next_non_space();
        let operand = match token.kind {
            Kind::Identifier => {
                let Some(func) = self.syntax.lookup(token.text) else {
                    let name = token.text;
                    return self.err(token.pos, format!("function {name:?} not defined"));
                };
                Operand::Func(token.text.into(), func)
            }
            Kind::Dot => Operand::Dot,
            Kind::Nil => Operand::Nil,
            Kind::Variable => {
                if !self.vars.iter().any(|v| **v == *token.text) {
                    return self.err(token.pos, format!("undefined variable {:?}", token.text));
                }
                Operand::Variable(token.text.into(), Vec::new())
            }
            Kind::Field => Operand::Field(vec![token.text[1..].into()]),
            Kind::Bool => Operand::Bool(token.text == "true"),
            Kind::Number => number(token.text).map_err(|message| ParseError {
                pos: token.pos,
                message,
            })?,
            Kind::Char => {
                let s = unquote(token.text).map_err(|message| ParseError {
                    pos: token.pos,
                    message,
                })?;
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Operand::Int(i64::from(u32::from(c))),
                    _ => {
                        return self.err(
                            token.pos,
                            format!("malformed character constant: {}", token.text),
                        );
                    }
                }
            }
            Kind::LeftParen => {
                self.enter(token.pos)?;
                let pipe = self.pipeline("parenthesized pipeline", Kind::RightParen);
                self.depth -= 1;
                Operand::Pipe(Box::new(pipe?))
            }
            Kind::String => Operand::String(
                unquote(token.text)
                    .map_err(|message| ParseError {
                        pos: token.pos,
                        message,
                    })?
                    .into(),
            ),
            _ => {
                self.i -= 1;
                return Ok(None);
            }
        };
        Ok(Some(operand))
    }
}

/// What parsing one `{% ... %}` or text produced.
enum Parsed {
    Node(Node),
    /// `{% end %}` or `{% else %}` at a byte offset.
    End(usize, ListEnd),
}

/// A number literal as Go's template parser types it: a float when it is
/// written with a fraction or an exponent, otherwise an int.
fn number(text: &str) -> std::result::Result<Operand, String> {
    let illegal = || format!("illegal number syntax: {text:?}");
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let clean: String = unsigned.chars().filter(|c| *c != '_').collect();
    let lower = clean.to_ascii_lowercase();
    let radix_int = |digits: &str, radix: u32| {
        i128::from_str_radix(digits, radix)
            .ok()
            .map(|n| if negative { -n } else { n })
            .and_then(|n| i64::try_from(n).ok())
    };
    let int = if let Some(hex) = lower.strip_prefix("0x") {
        if hex.contains(['.', 'p']) {
            None
        } else {
            Some(radix_int(hex, 16).ok_or_else(illegal)?)
        }
    } else if let Some(oct) = lower.strip_prefix("0o") {
        Some(radix_int(oct, 8).ok_or_else(illegal)?)
    } else if let Some(bin) = lower.strip_prefix("0b") {
        Some(radix_int(bin, 2).ok_or_else(illegal)?)
    } else if !lower.contains(['.', 'e']) {
        if lower.len() > 1 && lower.starts_with('0') {
            // Go reads a leading zero as octal, and falls back to decimal.
            Some(
                radix_int(&lower[1..], 8)
                    .or_else(|| radix_int(&lower, 10))
                    .ok_or_else(illegal)?,
            )
        } else {
            Some(radix_int(&lower, 10).ok_or_else(illegal)?)
        }
    } else {
        None
    };
    if let Some(i) = int {
        return Ok(Operand::Int(i));
    }
    if lower.starts_with("0x") {
        return Err(illegal());
    }
    let f: f64 = lower.parse().map_err(|_| illegal())?;
    Ok(Operand::Float(if negative { -f } else { f }))
}

/// Unquotes a Go string literal: `"..."` with escapes, `` `...` `` raw, or `'c'`.
pub(crate) fn unquote(lit: &str) -> std::result::Result<String, String> {
    let bad = || format!("invalid syntax: {lit}");
    if let Some(raw) = lit.strip_prefix('`') {
        return raw.strip_suffix('`').map(str::to_string).ok_or_else(bad);
    }
    let quote = lit.chars().next().ok_or_else(bad)?;
    let body = lit
        .strip_prefix(quote)
        .and_then(|s| s.strip_suffix(quote))
        .ok_or_else(bad)?;
    let mut out = String::with_capacity(body.len());
    let mut bytes: Vec<u8> = Vec::new();
    let mut chars = body.chars();
    let flush = |bytes: &mut Vec<u8>, out: &mut String| {
        if !bytes.is_empty() {
            out.push_str(&String::from_utf8_lossy(bytes));
            bytes.clear();
        }
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            flush(&mut bytes, &mut out);
            out.push(c);
            continue;
        }
        let esc = chars.next().ok_or_else(bad)?;
        let simple = match esc {
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            '\\' => Some('\\'),
            '\'' if quote == '\'' => Some('\''),
            '"' if quote == '"' => Some('"'),
            _ => None,
        };
        if let Some(c) = simple {
            flush(&mut bytes, &mut out);
            out.push(c);
            continue;
        }
        let mut take = |n: usize, radix: u32| -> std::result::Result<u32, String> {
            let digits: String = chars.by_ref().take(n).collect();
            if digits.len() != n {
                return Err(bad());
            }
            u32::from_str_radix(&digits, radix).map_err(|_| bad())
        };
        match esc {
            'x' => bytes.push(u8::try_from(take(2, 16)?).map_err(|_| bad())?),
            '0'..='7' => {
                let rest = take(2, 8)?;
                let value = esc.to_digit(8).unwrap_or(0) * 64 + rest;
                bytes.push(u8::try_from(value).map_err(|_| bad())?);
            }
            'u' | 'U' => {
                let value = take(if esc == 'u' { 4 } else { 8 }, 16)?;
                flush(&mut bytes, &mut out);
                out.push(char::from_u32(value).ok_or_else(bad)?);
            }
            _ => return Err(bad()),
        }
    }
    flush(&mut bytes, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_default(src: &str) -> Result<Tree> {
        let source = Arc::new(Source {
            name: "t".into(),
            src: src.into(),
        });
        parse(&source, &Syntax::default())
    }

    #[test]
    fn numbers_are_typed_as_go_types_them() {
        assert!(matches!(number("42"), Ok(Operand::Int(42))));
        assert!(matches!(number("0x1F"), Ok(Operand::Int(31))));
        assert!(matches!(number("0x1E"), Ok(Operand::Int(30))));
        assert!(matches!(number("-7"), Ok(Operand::Int(-7))));
        assert!(matches!(number("1_000"), Ok(Operand::Int(1000))));
        assert!(matches!(number("017"), Ok(Operand::Int(15))));
        assert!(matches!(number("1e6"), Ok(Operand::Float(f)) if f == 1e6));
        assert!(matches!(number("3.5"), Ok(Operand::Float(f)) if f == 3.5));
        assert!(number("-").is_err());
        assert!(number("99999999999999999999").is_err());
    }

    #[test]
    fn unquotes_go_escapes() {
        assert_eq!(
            unquote(r#""a\n\"b\x41\u00e9\101""#).ok().as_deref(),
            Some("a\n\"bAéA")
        );
        assert_eq!(unquote("`raw\\n`").ok().as_deref(), Some("raw\\n"));
        assert!(unquote(r#""\q""#).is_err());
    }

    #[test]
    fn rejects_what_go_rejects() {
        for src in [
            "{% if .x %}",
            "{% range .x %}a{% else %}b",
            "{% end %}",
            "{% else %}",
            "{% nosuch %}",
            "{% $x %}",
            "{% $x = 1 %}",
            "{% .a | 1 %}",
            "{% %}",
            "{% break %}",
            "{% \"a\".b %}",
            "{% if .x %}{% else %}{% else %}{% end %}",
            "{% with .x %}{% else if .y %}{% end %}",
        ] {
            assert!(parse_default(src).is_err(), "{src} should not parse");
        }
    }

    #[test]
    fn limits_nesting() {
        let deep = format!("{{% {}1{} %}}", "(".repeat(500), ")".repeat(500));
        assert!(parse_default(&deep).is_err());
        let blocks = "{% if 1 %}".repeat(500) + &"{% end %}".repeat(500);
        assert!(parse_default(&blocks).is_err());
    }
}
