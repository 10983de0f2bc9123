// A fresh Vite vanilla-ts app that uses the published @fhe-llm/sdk with
// Vite's default settings. Query: ?relay=<url>&prompt=<text>&tokens=<n>
// (default: same origin, "Once upon a time", 8).
import { createClient } from '@fhe-llm/sdk';

const app = document.querySelector<HTMLDivElement>('#app')!;
const query = new URLSearchParams(location.search);
const prompt = query.get('prompt') ?? 'Once upon a time';

try {
  const client = createClient({ relayUrl: query.get('relay') ?? '' });
  const stream = await client.completions.create({ model: 'stories260K', prompt, max_tokens: Number(query.get('tokens') ?? 8), stream: true });
  app.textContent = prompt;
  for await (const chunk of stream) app.textContent += chunk.choices[0].text;
  await client.close();
  app.dataset.state = 'done';
} catch (error) {
  app.textContent = String(error);
  app.dataset.state = 'failed';
}
