//! Executes a parsed template with Go's evaluation rules: field lookup on
//! maps, `<no value>` for missing keys, lazy `and`/`or`, variable scoping,
//! and `range`/`with`/`if` truth.

use std::collections::HashMap;
use std::sync::Arc;

use crate::parse::{Branch, Command, Defined, FuncRef, List, Node, Operand, Pipe, Source};
use crate::value::Value;

/// The most output one execution may produce, so a template cannot exhaust
/// memory.
pub(crate) const MAX_OUTPUT: usize = 16 << 20;
/// The most `range` iterations and template calls one execution may make, so
/// a template cannot spin forever.
const MAX_STEPS: u64 = 1_000_000;
/// How deeply `{% template %}` calls may nest.
const MAX_CALL_DEPTH: usize = 100;

/// A failure, with the byte range of the command it happened in and the
/// source of that range, once known.
#[derive(Debug)]
pub(crate) struct Failure {
    pub span: Option<(usize, usize)>,
    pub source: Option<Arc<Source>>,
    pub message: String,
}

type Result<T> = std::result::Result<T, Failure>;

fn fail<T>(message: impl Into<String>) -> Result<T> {
    Err(Failure {
        span: None,
        source: None,
        message: message.into(),
    })
}

/// How a list of nodes finished.
enum Flow {
    Normal,
    Break,
    Continue,
}

/// The state of one execution.
pub(crate) struct Exec<'t> {
    defines: &'t HashMap<Box<str>, Arc<Defined>>,
    /// The source of the nodes being walked (changes inside a `template`
    /// call of a template parsed from another source).
    source: &'t Arc<Source>,
    pub out: String,
    vars: Vec<(&'t str, Value)>,
    depth: usize,
    steps: u64,
    /// Byte ranges of the actions that printed `<no value>`, in order.
    no_values: Vec<(usize, usize)>,
}

/// The output of one execution, and where it printed `<no value>`.
pub(crate) struct Output {
    pub text: String,
    /// Byte ranges of the actions that printed `<no value>`, in order.
    pub no_values: Vec<(usize, usize)>,
}

impl<'t> Exec<'t> {
    /// Runs `root`, parsed from `source`, with `data` as dot and `$`.
    pub(crate) fn run(
        root: &'t List,
        source: &'t Arc<Source>,
        defines: &'t HashMap<Box<str>, Arc<Defined>>,
        data: &Value,
    ) -> Result<Output> {
        let _budget = crate::cost::Scope::start();
        let mut exec = Exec {
            defines,
            source,
            out: String::new(),
            vars: vec![("$", data.clone())],
            depth: 0,
            steps: 0,
            no_values: Vec::new(),
        };
        exec.walk(data, root)?;
        Ok(Output {
            text: exec.out,
            no_values: exec.no_values,
        })
    }

    fn step(&mut self) -> Result<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return fail(format!("template exceeds {MAX_STEPS} range iterations"));
        }
        Ok(())
    }

    fn check_output(&self) -> Result<()> {
        if self.out.len() > MAX_OUTPUT {
            return fail(format!("template output exceeds {MAX_OUTPUT} bytes"));
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Value, list: &'t List) -> Result<Flow> {
        for node in list {
            let flow = match node {
                Node::Text(text) => {
                    self.out.push_str(text);
                    self.check_output()?;
                    Flow::Normal
                }
                Node::Action(pipe) => {
                    let value = self.pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        if matches!(value, Value::Missing | Value::Nil) {
                            self.no_values.push(pipe_span(pipe));
                        }
                        print_value(&mut self.out, &value);
                        self.check_output()?;
                    }
                    Flow::Normal
                }
                Node::If(branch) => self.if_or_with(dot, branch, false)?,
                Node::With(branch) => self.if_or_with(dot, branch, true)?,
                Node::Range(branch) => self.range(dot, branch)?,
                Node::Template { pos, name, pipe } => {
                    self.call_template(dot, *pos, name, pipe.as_ref())?
                }
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if !matches!(flow, Flow::Normal) {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn if_or_with(&mut self, dot: &Value, branch: &'t Branch, is_with: bool) -> Result<Flow> {
        let mark = self.vars.len();
        let value = self.pipeline(dot, &branch.pipe)?;
        let flow = if value.is_true() {
            self.walk(if is_with { &value } else { dot }, &branch.list)
        } else if let Some(else_list) = &branch.else_list {
            self.walk(dot, else_list)
        } else {
            Ok(Flow::Normal)
        };
        self.vars.truncate(mark);
        flow
    }

    fn range(&mut self, dot: &Value, branch: &'t Branch) -> Result<Flow> {
        let outer = self.vars.len();
        let value = self.pipeline(dot, &branch.pipe)?;
        let items: Vec<(Value, Value)> = match &value {
            Value::List(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i64::try_from(i).unwrap_or(i64::MAX)), v.clone()))
                .collect(),
            Value::Map(map) => map
                .try_borrow()
                .map_err(|_| Failure {
                    span: None,
                    source: None,
                    message: "map is being modified".into(),
                })?
                .iter()
                .map(|(k, v)| (Value::str(k.as_str()), v.clone()))
                .collect(),
            Value::Missing | Value::Nil => Vec::new(),
            other => {
                let mut shown = String::new();
                crate::fmt::write_value(&mut shown, other);
                return fail(format!("range can't iterate over {shown}"));
            }
        };
        let result = self.range_items(dot, branch, items);
        self.vars.truncate(outer);
        result
    }

    fn range_items(
        &mut self,
        dot: &Value,
        branch: &'t Branch,
        items: Vec<(Value, Value)>,
    ) -> Result<Flow> {
        if items.is_empty() {
            if let Some(else_list) = &branch.else_list {
                return self.walk(dot, else_list);
            }
            return Ok(Flow::Normal);
        }
        let mark = self.vars.len();
        let decl = &branch.pipe.decl;
        for (key, elem) in items {
            self.step()?;
            match decl.as_slice() {
                [] => {}
                [value] => self.set_var(value, elem.clone())?,
                [index, value, ..] => {
                    self.set_var(index, key)?;
                    self.set_var(value, elem.clone())?;
                }
            }
            let flow = self.walk(&elem, &branch.list);
            self.vars.truncate(mark);
            if let Flow::Break = flow? {
                break;
            }
        }
        Ok(Flow::Normal)
    }

    fn call_template(
        &mut self,
        dot: &Value,
        _pos: usize,
        name: &str,
        pipe: Option<&'t Pipe>,
    ) -> Result<Flow> {
        let Some(defined) = self.defines.get(name) else {
            return fail(format!("template {name:?} not defined"));
        };
        if self.depth >= MAX_CALL_DEPTH {
            return fail(format!(
                "exceeded maximum template depth ({MAX_CALL_DEPTH})"
            ));
        }
        self.step()?;
        let dot = match pipe {
            Some(pipe) => self.pipeline(dot, pipe)?,
            None => Value::Missing,
        };
        let vars = std::mem::replace(&mut self.vars, vec![("$", dot.clone())]);
        let caller = std::mem::replace(&mut self.source, &defined.source);
        self.depth += 1;
        let flow = self.walk(&dot, &defined.list);
        self.depth -= 1;
        self.source = caller;
        self.vars = vars;
        flow.map(|_| Flow::Normal)
    }

    fn var_value(&self, name: &str) -> Result<Value> {
        match self.vars.iter().rev().find(|(n, _)| *n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => fail(format!("undefined variable: {name}")),
        }
    }

    fn set_var(&mut self, name: &str, value: Value) -> Result<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => fail(format!("undefined variable: {name}")),
        }
    }

    fn pipeline(&mut self, dot: &Value, pipe: &'t Pipe) -> Result<Value> {
        let mut value = None;
        for cmd in &pipe.cmds {
            let result = self.command(dot, cmd, value.take());
            value = Some(result.map_err(|mut f| {
                if f.span.is_none() {
                    f.span = Some(cmd.span);
                    f.source = Some(self.source.clone());
                }
                f
            })?);
        }
        let value = value.unwrap_or_default();
        for name in &pipe.decl {
            if pipe.assign {
                self.set_var(name, value.clone())?;
            } else {
                self.vars.push((name, value.clone()));
            }
        }
        Ok(value)
    }

    fn command(&mut self, dot: &Value, cmd: &'t Command, fin: Option<Value>) -> Result<Value> {
        let Some((first, args)) = cmd.args.split_first() else {
            return fail("empty command");
        };
        let not_a_function = |what: &str| -> Result<()> {
            if !args.is_empty() || fin.is_some() {
                return fail(format!("can't give argument to non-function {what}"));
            }
            Ok(())
        };
        match first {
            Operand::Field(chain) => self.field_chain(dot.clone(), chain, args, fin),
            Operand::Variable(name, chain) => {
                let value = self.var_value(name)?;
                if chain.is_empty() {
                    not_a_function(name)?;
                    return Ok(value);
                }
                self.field_chain(value, chain, args, fin)
            }
            Operand::Chain(term, chain) => {
                let receiver = self.chain_receiver(dot, term)?;
                self.field_chain(receiver, chain, args, fin)
            }
            Operand::Func(name, func) => self.function(dot, name, func, args, fin),
            Operand::Pipe(pipe) => {
                not_a_function("parenthesized pipeline")?;
                self.pipeline(dot, pipe)
            }
            Operand::Nil => fail("nil is not a command"),
            literal => {
                not_a_function("a constant")?;
                self.arg(dot, literal)
            }
        }
    }

    fn chain_receiver(&mut self, dot: &Value, term: &'t Operand) -> Result<Value> {
        if let Operand::Nil = term {
            return fail("indirection through explicit nil");
        }
        self.arg(dot, term)
    }

    fn field_chain(
        &mut self,
        mut receiver: Value,
        chain: &[Box<str>],
        args: &[Operand],
        fin: Option<Value>,
    ) -> Result<Value> {
        let Some((last, init)) = chain.split_last() else {
            return Ok(receiver);
        };
        for name in init {
            receiver = field(receiver, name, false)?;
        }
        field(receiver, last, !args.is_empty() || fin.is_some())
    }

    fn function(
        &mut self,
        dot: &Value,
        name: &str,
        func: &'t FuncRef,
        args: &'t [Operand],
        fin: Option<Value>,
    ) -> Result<Value> {
        let call = |f: &dyn Fn(&[Value]) -> std::result::Result<Value, String>,
                    argv: Vec<Value>| {
            f(&argv).map_err(|m| Failure {
                span: None,
                source: None,
                message: format!("error calling {name}: {m}"),
            })
        };
        let is_or = match func {
            FuncRef::Call(f) => return call(f, self.args(dot, args, fin)?),
            FuncRef::Dyn(f) => return call(&**f, self.args(dot, args, fin)?),
            FuncRef::And => false,
            FuncRef::Or => true,
        };
        if args.is_empty() && fin.is_none() {
            return fail(format!(
                "wrong number of args for {name}: want at least 1 got 0"
            ));
        }
        let mut last = Value::Nil;
        for a in args {
            last = self.arg(dot, a)?.into_arg();
            if last.is_true() == is_or {
                return Ok(last);
            }
        }
        Ok(fin.map(Value::into_arg).unwrap_or(last))
    }

    /// The arguments of a function call, the piped value last.
    fn args(&mut self, dot: &Value, args: &'t [Operand], fin: Option<Value>) -> Result<Vec<Value>> {
        let mut argv = Vec::with_capacity(args.len() + 1);
        for a in args {
            argv.push(self.arg(dot, a)?.into_arg());
        }
        argv.extend(fin.map(Value::into_arg));
        Ok(argv)
    }

    /// Evaluates an argument: an operand standing alone.
    fn arg(&mut self, dot: &Value, operand: &'t Operand) -> Result<Value> {
        Ok(match operand {
            Operand::Dot => dot.clone(),
            Operand::Nil => Value::Nil,
            Operand::Bool(b) => Value::Bool(*b),
            Operand::Int(i) => Value::Int(*i),
            Operand::Float(f) => Value::Float(*f),
            Operand::String(s) => Value::String(s.clone()),
            Operand::Field(chain) => self.field_chain(dot.clone(), chain, &[], None)?,
            Operand::Variable(name, chain) => {
                let value = self.var_value(name)?;
                self.field_chain(value, chain, &[], None)?
            }
            Operand::Pipe(pipe) => self.pipeline(dot, pipe)?,
            Operand::Func(name, func) => self.function(dot, name, func, &[], None)?,
            Operand::Chain(term, chain) => {
                let receiver = self.chain_receiver(dot, term)?;
                self.field_chain(receiver, chain, &[], None)?
            }
        })
    }
}

/// The byte range of a pipeline's commands in the source.
fn pipe_span(pipe: &Pipe) -> (usize, usize) {
    let start = pipe.cmds.first().map_or(pipe.pos, |c| c.span.0);
    let end = pipe.cmds.last().map_or(pipe.pos, |c| c.span.1);
    (start, end)
}

/// Prints an action's value. Go shows a nil interface here as `<no value>`,
/// like a missing one, while `print` and `printf` show it as `<nil>`.
fn print_value(out: &mut String, value: &Value) {
    match value {
        Value::Nil => out.push_str("<no value>"),
        value => crate::fmt::write_value(out, value),
    }
}

/// Reads `name` from `receiver` as Go reads a field of a map.
fn field(receiver: Value, name: &str, has_args: bool) -> Result<Value> {
    match receiver {
        Value::Missing => Ok(Value::Missing),
        Value::Nil => fail(format!("nil pointer evaluating interface {{}}.{name}")),
        Value::Map(map) => {
            if has_args {
                return fail(format!("{name} is not a method but has arguments"));
            }
            let map = map.try_borrow().map_err(|_| Failure {
                span: None,
                source: None,
                message: "map is being modified".into(),
            })?;
            Ok(map.get(name).cloned().unwrap_or(Value::Missing))
        }
        Value::Time(t) if !has_args => time_method(&t, name),
        Value::Cert(c) => cert_field(&c, name, has_args),
        other => fail(format!(
            "can't evaluate field {name} in type {}",
            other.type_name()
        )),
    }
}

/// A field of sprig's `certificate` struct.
fn cert_field(c: &crate::value::Certificate, name: &str, has_args: bool) -> Result<Value> {
    match c.fields().into_iter().find(|(field, _)| *field == name) {
        Some(_) if has_args => fail(format!(
            "{name} has arguments but cannot be invoked as function"
        )),
        Some((_, value)) => Ok(Value::str(value)),
        None => fail(format!(
            "can't evaluate field {name} in type sprig.certificate"
        )),
    }
}

/// The argument-free methods of Go's `time.Time` that templates use.
fn time_method(t: &jiff::Zoned, name: &str) -> Result<Value> {
    let int = |i: i64| Ok(Value::Int(i));
    match name {
        "Unix" => int(t.timestamp().as_second()),
        "UnixMilli" => int(t.timestamp().as_millisecond()),
        "UnixNano" => int(i64::try_from(t.timestamp().as_nanosecond()).unwrap_or(i64::MAX)),
        "Year" => int(i64::from(t.year())),
        "YearDay" => int(i64::from(t.day_of_year())),
        "Day" => int(i64::from(t.day())),
        "Hour" => int(i64::from(t.hour())),
        "Minute" => int(i64::from(t.minute())),
        "Second" => int(i64::from(t.second())),
        "UTC" => Ok(Value::Time(t.with_time_zone(jiff::tz::TimeZone::UTC))),
        _ => fail(format!("can't evaluate field {name} in type time.Time")),
    }
}
