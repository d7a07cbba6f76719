// The unmodified @fal-ai/client's stream and realtime clients against falfake, set up only by
// `falfake exec` (FAL_KEY, and the preload that sends fal's hosts to the fake): no proxyUrl.
// Usage: falfake exec -- node --experimental-websocket streaming.mjs <scenario>...
// Prints one JSON object: each scenario's observations, or what it threw.
import { fal } from "@fal-ai/client";

const LLM = "fal-ai/any-llm";
const VIDEO = "google/gemini-omni-flash/reference-to-video";
const PNG = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 16, 0, 0, 0, 16, 8, 2, 0, 0, 0, 144, 145, 104, 54, 0, 0, 0, 25, 73, 68, 65, 84, 120, 156, 99, 188, 35, 39, 199, 64, 10, 96, 34, 73, 245, 168, 134, 81, 13, 67, 74, 3, 0, 140, 75, 1, 56, 193, 233, 238, 225, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130]);

async function streamed(id, options) {
  const stream = await fal.stream(id, options);
  const events = [];
  for await (const event of stream) {
    events.push(event);
  }
  return { events, done: await stream.done() };
}

function failure(error) {
  return { name: error.constructor.name, status: error.status, body: error.body };
}

function realtimeResults(app, inputs, count) {
  // Resolves once `count` results or errors arrived (the client reports both by callback).
  return new Promise((resolve, reject) => {
    const seen = { results: [], errors: [] };
    const timer = setTimeout(() => reject(new Error(`timed out: ${JSON.stringify(seen)}`)), 20000);
    const settle = () => {
      if (seen.results.length + seen.errors.length >= count) {
        clearTimeout(timer);
        connection.close();
        resolve({ results: [...seen.results], errors: [...seen.errors] });
      }
    };
    const connection = fal.realtime.connect(app, {
      throttleInterval: 0,
      onResult: (result) => {
        seen.results.push({
          request_id: result.request_id ?? null,
          images: result.images.map((i) => [i.content.constructor.name, i.content.length > 0, i.width, i.height]),
        });
        settle();
      },
      onError: (error) => {
        seen.errors.push({ status: error.status, message: error.message });
        settle();
      },
    });
    for (const input of inputs) {
      connection.send(input);
    }
  });
}

const scenarios = {
  async stream_server() {
    return streamed(LLM, { input: { prompt: "Tell me a story" } });
  },
  async stream_client() {
    return streamed(LLM, { input: { prompt: "Tell me a story" }, connectionMode: "client" });
  },
  async stream_flux() {
    const { events, done } = await streamed("fal-ai/flux/schnell", { input: { prompt: "a fox", image_size: "square" } });
    return { kinds: events.map((e) => Object.keys(e).sort()), done: done.images.map((i) => [i.width, i.height]) };
  },
  async stream_rejected() {
    const stream = await fal.stream(LLM, { input: { prompt: 42 } });
    try {
      await stream.done();
    } catch (error) {
      return failure(error);
    }
    return { threw: null };
  },
  async realtime() {
    return realtimeResults("fal-ai/fast-lcm-diffusion/image-to-image", [{ prompt: "a cat", image_bytes: PNG, request_id: "r0" }], 1);
  },
  async realtime_bad_input() {
    return realtimeResults("fal-ai/fast-lcm-diffusion", [{ prompt: "a cat", strength: 7 }], 1);
  },
  async uploaded_image_with_a_webhook() {
    // Upload, then subscribe with a webhook ($WEBHOOK_URL): fal.subscribe submits, polls, reads.
    const url = await fal.storage.upload(new Blob([PNG], { type: "image/png" }));
    const logs = [];
    const { data, requestId } = await fal.subscribe(VIDEO, {
      input: { prompt: "A cat <IMAGE_REF_0>", image_urls: [url], duration: 4 },
      webhookUrl: process.env.WEBHOOK_URL,
      logs: true,
      pollInterval: 50,
      onQueueUpdate: (update) => logs.push(...(update.logs ?? []).map((line) => line.message)),
    });
    return { url, requestId, video: data.video, logs: [...new Set(logs)] };
  },
  async plain_fetch() {
    // A queue lifecycle on fal's real host names with Node's own fetch, as an app without the client.
    const headers = { Authorization: `Key ${process.env.FAL_KEY}`, "Content-Type": "application/json" };
    const submitted = await (await fetch("https://queue.fal.run/fal-ai/flux/schnell", { method: "POST", headers, body: JSON.stringify({ prompt: "a fox" }) })).json();
    let status;
    do {
      status = await (await fetch(`${submitted.status_url}?logs=1`, { headers })).json();
    } while (status.status !== "COMPLETED");
    const result = await (await fetch(submitted.response_url, { headers })).json();
    const image = new Uint8Array(await (await fetch(result.images[0].url)).arrayBuffer());
    return { status: status.status, jpeg: image[0] === 0xff && image[1] === 0xd8, status_url: submitted.status_url };
  },
};

const results = {};
for (const name of process.argv.slice(2)) {
  try {
    results[name] = await scenarios[name]();
  } catch (error) {
    results[name] = { threw: String(error), ...failure(error) };
  }
}
console.log(JSON.stringify(results));
