// multipart/form-data encoded as a browser or the OpenAI SDK sends it (the WHATWG encoder Node ships), for
// calls through TestWarden.call: the body bytes and the content-type header with its boundary.
export async function multipart(fields: Record<string, string | { name: string; bytes: Buffer | string }>): Promise<{ body: Buffer; headers: { 'content-type': string } }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v === 'string') form.append(k, v);
    else form.append(k, new Blob([v.bytes]), v.name);
  }
  const req = new Request('http://form.invalid/', { method: 'POST', body: form });
  return { body: Buffer.from(await req.arrayBuffer()), headers: { 'content-type': req.headers.get('content-type')! } };
}
