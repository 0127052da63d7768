// A client nobody here wrote: the MCP TypeScript SDK (@modelcontextprotocol/sdk,
// pinned in internal/testrig/node.go) starts the server command given after
// the script's name (benchctl ... mcp), lists its tools, and calls
// sample_vram and run_benchmark (waiting, with progress). It prints one JSON
// line per step on stdout for the Go test to judge (cmd/benchctl
// e2e_mcp_test.go); run with NODE_PATH set to the SDK's node_modules.
'use strict';
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StdioClientTransport } = require('@modelcontextprotocol/sdk/client/stdio.js');

async function main() {
  const [command, ...args] = process.argv.slice(2);
  const model = process.env.BENCHD_MODEL || 'tiny';
  const client = new Client({ name: 'benchd-ts-check', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command, args, stderr: 'inherit' }));
  const out = (step, value) => console.log(JSON.stringify({ step, value }));

  const { tools } = await client.listTools();
  out('tools', tools.map((t) => ({ name: t.name, readOnly: t.annotations?.readOnlyHint ?? false, title: t.annotations?.title ?? '' })));

  const vram = await client.callTool({ name: 'sample_vram', arguments: {} });
  out('sample_vram', { isError: vram.isError ?? false, structured: vram.structuredContent, text: vram.content?.[0]?.text });

  const progress = [];
  const run = await client.callTool(
    { name: 'run_benchmark', arguments: { model, repetitions: 2, warmup: 0, max_tokens: 8, wait_seconds: 300 } },
    undefined,
    { onprogress: (p) => progress.push(p), timeout: 600000, resetTimeoutOnProgress: true },
  );
  out('run_benchmark', { isError: run.isError ?? false, structured: run.structuredContent, text: run.isError ? run.content?.[0]?.text : undefined });
  out('progress', progress);

  const bad = await client.callTool({ name: 'get_benchmark', arguments: { benchmark_id: '20990101T000000Z-00000000' } });
  out('get_benchmark_unknown', { isError: bad.isError ?? false, text: bad.content?.[0]?.text });
  await client.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
