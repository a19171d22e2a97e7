/**
 * LiveKit Inference LLM, gateway side: OpenAI-compatible chat completions.
 *
 * Both pinned clients use the official OpenAI SDK with `baseURL` = the inference URL and
 * the LiveKit JWT as the API key (agents-js 1.9.0 `inference/llm.ts LLMStream.run`, openai
 * 6.x; Python 1.8.9 `livekit/agents/inference/llm.py LLMStream._run`, openai 3.x over
 * httpx). So the wire is:
 * - `POST <base>/chat/completions`, `Authorization: Bearer <jwt>`, JSON body
 *   `{model, messages, tools?, stream: true, stream_options: {include_usage: true}, ...}`;
 * - response `text/event-stream`: `data: <chat.completion.chunk JSON>\n\n` … `data: [DONE]\n\n`.
 *   Tool calls stream the OpenAI way both clients' `parseChoice` / `_parse_choice` expect:
 *   a first delta `tool_calls:[{index, id, type:'function', function:{name, arguments:''}}]`,
 *   then argument fragments `tool_calls:[{index, function:{arguments}}]`, then a chunk with
 *   `finish_reason:'tool_calls'` (that is what makes the clients emit the call). With
 *   `include_usage`, a last chunk has `choices: []` and `usage`.
 * - Python's `LLM._prewarm_impl` calls `GET <base>/models`; answered with a one-model list.
 */
import type { ServerResponse } from 'node:http';
import type { LlmTurn } from './script.js';

/** Split into pieces of roughly `size` characters, the way providers stream tokens. */
function pieces(s: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out.length ? out : [''];
}

/**
 * The chunks (as JSON objects) of one streamed completion for `turn`.
 * @param id completion id (`chatcmpl-...`); @param model echoed from the request.
 */
export function completionChunks(turn: LlmTurn, id: string, model: string, includeUsage: boolean, nowS: number = Math.floor(Date.now() / 1000)): Record<string, unknown>[] {
  const base = { id, object: 'chat.completion.chunk', created: nowS, model };
  const chunk = (delta: Record<string, unknown>, finish: string | null) => ({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
  const out: Record<string, unknown>[] = [];
  let completionChars = 0;
  if ('text' in turn) {
    out.push(chunk({ role: 'assistant', content: '' }, null));
    for (const p of turn.text.match(/\S+\s*|\s+/g) ?? []) {
      out.push(chunk({ content: p }, null));
      completionChars += p.length;
    }
    out.push(chunk({}, 'stop'));
  } else {
    const args = JSON.stringify(turn.toolCall.arguments ?? {});
    const callId = `call_${id.replace(/^chatcmpl-/, '')}`;
    out.push(chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: callId, type: 'function', function: { name: turn.toolCall.name, arguments: '' } }] }, null));
    for (const p of pieces(args, 8)) out.push(chunk({ tool_calls: [{ index: 0, function: { arguments: p } }] }, null));
    out.push(chunk({}, 'tool_calls'));
    completionChars = args.length + turn.toolCall.name.length;
  }
  if (includeUsage) {
    const completion = Math.max(1, Math.ceil(completionChars / 4));
    out.push({ ...base, choices: [], usage: { prompt_tokens: 10, completion_tokens: completion, total_tokens: 10 + completion, prompt_tokens_details: { cached_tokens: 0 } } });
  }
  return out;
}

/** The non-streaming form (`stream: false`), for completeness; neither agent client uses it. */
export function completionObject(turn: LlmTurn, id: string, model: string, nowS: number = Math.floor(Date.now() / 1000)): Record<string, unknown> {
  const message =
    'text' in turn
      ? { role: 'assistant', content: turn.text }
      : { role: 'assistant', content: null, tool_calls: [{ id: `call_${id.replace(/^chatcmpl-/, '')}`, type: 'function', function: { name: turn.toolCall.name, arguments: JSON.stringify(turn.toolCall.arguments ?? {}) } }] };
  return { id, object: 'chat.completion', created: nowS, model, choices: [{ index: 0, message, logprobs: null, finish_reason: 'text' in turn ? 'stop' : 'tool_calls' }], usage: { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 } };
}

/**
 * Write `chunks` as SSE and end the response. Resolves with the bytes written; stops early
 * (resolving) if the client goes away.
 */
export async function writeSse(res: ServerResponse, chunks: Record<string, unknown>[]): Promise<number> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  let bytes = 0;
  for (const c of [...chunks.map((c) => JSON.stringify(c)), '[DONE]']) {
    if (res.destroyed) return bytes;
    const line = `data: ${c}\n\n`;
    bytes += Buffer.byteLength(line);
    res.write(line);
    // a tick between chunks so the client sees a stream, not one buffered body
    await new Promise<void>((r) => setImmediate(r));
  }
  res.end();
  return bytes;
}
