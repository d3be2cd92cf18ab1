//! Chain payload templates: `{{origin.payload.x}}`, `{{prev.body.y}}`,
//! `{{steps.<name>.body.z}}`, `{{step_result}}`, `{{chain_id}}`, `{{step_index}}`.
//! A string that is exactly one placeholder keeps the value's JSON type.

use std::collections::BTreeMap;

use serde_json::Value;
use switchyard_core::Action;

pub struct TemplateContext<'a> {
    pub origin: &'a Action,
    pub prev: Option<&'a Value>,
    pub steps: BTreeMap<&'a str, &'a Value>,
    pub chain_id: &'a str,
    pub step_index: usize,
}

pub fn render(template: &Value, ctx: &TemplateContext<'_>) -> Value {
    match template {
        Value::String(s) => render_str(s, ctx),
        Value::Array(items) => Value::Array(items.iter().map(|v| render(v, ctx)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), render(v, ctx)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn render_str(s: &str, ctx: &TemplateContext<'_>) -> Value {
    let trimmed = s.trim();
    if let Some(inner) = trimmed
        .strip_prefix("{{")
        .and_then(|r| r.strip_suffix("}}"))
        && !inner.contains("{{")
    {
        return resolve(inner.trim(), ctx).unwrap_or(Value::Null);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        let expr = rest[start + 2..start + len].trim();
        match resolve(expr, ctx) {
            Some(Value::String(v)) => out.push_str(&v),
            Some(v) => out.push_str(&v.to_string()),
            None => out.push_str("null"),
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    Value::String(out)
}

fn resolve(expr: &str, ctx: &TemplateContext<'_>) -> Option<Value> {
    let parts: Vec<&str> = expr.split('.').collect();
    let walk = |root: &Value, path: &[&str]| -> Option<Value> {
        path.iter()
            .try_fold(root, |v, seg| match v {
                Value::Object(m) => m.get(*seg),
                Value::Array(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            })
            .cloned()
    };
    match parts.as_slice() {
        ["origin", "payload", rest @ ..] => walk(&ctx.origin.payload, rest),
        ["origin", "namespace"] => Some(Value::String(ctx.origin.namespace.clone())),
        ["origin", "tenant"] => Some(Value::String(ctx.origin.tenant.clone())),
        ["origin", "provider"] => Some(Value::String(ctx.origin.provider.clone())),
        ["origin", "action_type"] => Some(Value::String(ctx.origin.action_type.clone())),
        ["origin", "id"] => Some(Value::String(ctx.origin.id.clone())),
        ["origin", "metadata"] => serde_json::to_value(&ctx.origin.metadata).ok(),
        ["origin", "metadata", key] => ctx
            .origin
            .metadata
            .get(*key)
            .map(|v| Value::String(v.clone())),
        ["prev", "body", rest @ ..] | ["step_result", rest @ ..] => {
            ctx.prev.and_then(|b| walk(b, rest))
        }
        ["steps", name, "body", rest @ ..] => ctx.steps.get(name).and_then(|b| walk(b, rest)),
        ["chain_id"] => Some(Value::String(ctx.chain_id.to_string())),
        ["step_index"] => Some(Value::from(ctx.step_index)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_values_keep_their_type_and_inline_values_interpolate() {
        let origin = Action::builder(
            "ns",
            "acme",
            "p",
            "t",
            json!({"order_id": "O-1", "total": 4999, "items": [{"sku": "a"}]}),
        );
        let prev = json!({"logged": true, "ref": "R9"});
        let ctx = TemplateContext {
            origin: &origin,
            prev: Some(&prev),
            steps: BTreeMap::from([("validate", &prev)]),
            chain_id: "c-1",
            step_index: 2,
        };
        let out = render(
            &json!({
                "total": "{{origin.payload.total}}",
                "items": "{{ origin.payload.items }}",
                "label": "order {{origin.payload.order_id}} for {{origin.tenant}} ({{origin.payload.total}})",
                "ok": "{{prev.body.logged}}",
                "ref": "{{steps.validate.body.ref}}",
                "missing": "{{origin.payload.nope}}",
                "chain": ["{{chain_id}}", "{{step_index}}"],
                "plain": 5
            }),
            &ctx,
        );
        assert_eq!(
            out,
            json!({
                "total": 4999,
                "items": [{"sku": "a"}],
                "label": "order O-1 for acme (4999)",
                "ok": true,
                "ref": "R9",
                "missing": null,
                "chain": ["c-1", 2],
                "plain": 5
            })
        );
    }
}
