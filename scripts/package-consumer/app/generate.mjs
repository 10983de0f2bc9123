// A plain Node script that uses the published @fhe-llm/sdk.
// Usage: node generate.mjs <relay-url> <prompt> <tokens>  -> prints the completion as JSON
import { createClient } from '@fhe-llm/sdk';

const [relayUrl, prompt, tokens] = process.argv.slice(2);
const client = createClient({ relayUrl });
try {
  const completion = await client.completions.create({ model: 'stories260K', prompt, max_tokens: Number(tokens) });
  process.stdout.write(`${JSON.stringify({ text: prompt + completion.choices[0].text, token_ids: completion.choices[0].token_ids })}\n`);
} finally {
  await client.close();
}
