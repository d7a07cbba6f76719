// The unmodified @fal-ai/client against falfake through its documented proxy option.
// Usage: node scenarios.mjs <fake base URL> <valid key> <invalid key>
// Prints one JSON object: each scenario's observations, or what it threw.
import { createFalClient } from "@fal-ai/client";

const [base, key, badKey] = process.argv.slice(2);
const ENDPOINT = "google/gemini-omni-flash/reference-to-video";
const proxyUrl = { url: `${base}/fal/proxy`, when: "always" };
const fal = createFalClient({ credentials: key, proxyUrl });
// A real 16x16 red PNG: the fake decodes reference images.
const PNG = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 16, 0, 0, 0, 16, 8, 2, 0, 0, 0, 144, 145, 104, 54, 0, 0, 0, 25, 73, 68, 65, 84, 120, 156, 99, 188, 35, 39, 199, 64, 10, 96, 34, 73, 245, 168, 134, 81, 13, 67, 74, 3, 0, 140, 75, 1, 56, 193, 233, 238, 225, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130]);
const input = { prompt: "A cat <IMAGE_REF_0>", image_urls: ["https://example.com/cat.png"], duration: 3 };

async function bytesAt(url) {
  return Array.from(new Uint8Array(await (await fetch(url)).arrayBuffer()));
}

function failure(error) {
  return {
    name: error.constructor.name,
    status: error.status,
    body: error.body,
    requestId: error.requestId,
    fieldErrors: error.fieldErrors,
  };
}

const scenarios = {
  async subscribe() {
    const updates = [];
    const result = await fal.subscribe(ENDPOINT, {
      input,
      logs: true,
      pollInterval: 50,
      onQueueUpdate: (update) => updates.push({ status: update.status, logs: update.logs ?? null }),
    });
    return { result, updates };
  },
  async streaming_subscribe() {
    const statuses = [];
    const result = await fal.subscribe(ENDPOINT, {
      input,
      mode: "streaming",
      logs: true,
      onQueueUpdate: (update) => statuses.push(update.status),
    });
    return { result, statuses };
  },
  async queue_by_id() {
    const submitted = await fal.queue.submit(ENDPOINT, { input });
    const first = await fal.queue.status(ENDPOINT, { requestId: submitted.request_id, logs: true });
    const done = await fal.queue.subscribeToStatus(ENDPOINT, {
      requestId: submitted.request_id,
      mode: "polling",
      pollInterval: 50,
    });
    const result = await fal.queue.result(ENDPOINT, { requestId: submitted.request_id });
    return { submitted, first, done, result };
  },
  async stream_status() {
    const { request_id } = await fal.queue.submit(ENDPOINT, { input });
    const stream = await fal.queue.streamStatus(ENDPOINT, { requestId: request_id, logs: true });
    const events = [];
    for await (const event of stream) events.push({ status: event.status, logs: event.logs });
    const done = await stream.done();
    return { events, done: done.status };
  },
  async cancel() {
    const { request_id } = await fal.queue.submit(ENDPOINT, { input });
    await fal.queue.cancel(ENDPOINT, { requestId: request_id });
    const done = await fal.queue.subscribeToStatus(ENDPOINT, {
      requestId: request_id,
      mode: "polling",
      pollInterval: 50,
    });
    try {
      await fal.queue.result(ENDPOINT, { requestId: request_id });
      return { done, result: "no error" };
    } catch (error) {
      return { done, result: failure(error) };
    }
  },
  async upload() {
    const url = await fal.storage.upload(new Blob([PNG], { type: "image/png" }));
    return { url, bytes: await bytesAt(url) };
  },
  async upload_multipart() {
    const big = new Uint8Array(91 * 1024 * 1024);
    big[0] = 7;
    big[big.length - 1] = 9;
    const url = await fal.storage.upload(new Blob([big]));
    const got = new Uint8Array(await (await fetch(url)).arrayBuffer());
    return { url, size: got.length, first: got[0], last: got[got.length - 1] };
  },
  async uploaded_image_in_a_submit() {
    const url = await fal.storage.upload(new Blob([PNG], { type: "image/png" }));
    const { data } = await fal.subscribe(ENDPOINT, { input: { ...input, image_urls: [url] } });
    return { url, data };
  },
  async validation_error() {
    try {
      await fal.subscribe(ENDPOINT, { input: { prompt: "no images" } });
      return "no error";
    } catch (error) {
      return failure(error);
    }
  },
  async auth_error() {
    const stranger = createFalClient({ credentials: badKey, proxyUrl });
    try {
      await stranger.run(ENDPOINT, { input });
      return "no error";
    } catch (error) {
      return failure(error);
    }
  },
  async run() {
    return await fal.run(ENDPOINT, { input });
  },
  async flux() {
    const statuses = [];
    const { data } = await fal.subscribe("fal-ai/flux/dev", {
      input: { prompt: "a red cube", image_size: "portrait_16_9", num_images: 2 },
      logs: true,
      pollInterval: 50,
      onQueueUpdate: (update) => statuses.push(update.status),
    });
    // JPEG's size from its SOF0 marker: width and height as the file states them.
    const sizes = [];
    for (const image of data.images) {
      const bytes = new Uint8Array(await (await fetch(image.url)).arrayBuffer());
      let at = 2;
      while (at < bytes.length && !(bytes[at] === 0xff && bytes[at + 1] >= 0xc0 && bytes[at + 1] <= 0xc2)) {
        at += 2 + ((bytes[at + 2] << 8) | bytes[at + 3]);
      }
      sizes.push({ soi: bytes[0] === 0xff && bytes[1] === 0xd8, width: (bytes[at + 7] << 8) | bytes[at + 8], height: (bytes[at + 5] << 8) | bytes[at + 6] });
    }
    return { data, statuses, sizes };
  },
  async stubbed() {
    // A scenario sets this input's output and logs (a given file, served by the fake).
    const prompt = "A stubbed cat <IMAGE_REF_0>";
    const scenario = {
      operation: "submit",
      input: { prompt },
      output_fields: {
        video: { $bytes: Buffer.from("golden video").toString("base64"), content_type: "video/mp4", file_name: "golden.mp4" },
      },
      logs: ["Loading the golden path", "Done"],
      times: 1,
    };
    const added = await fetch(`${base}/_falfake/scenarios`, { method: "POST", body: JSON.stringify(scenario) });
    const logs = [];
    const { data } = await fal.subscribe(ENDPOINT, {
      input: { ...input, prompt },
      logs: true,
      pollInterval: 50,
      onQueueUpdate: (update) => logs.push(...(update.logs ?? []).map((line) => line.message)),
    });
    const video = await (await fetch(data.video.url)).text();
    return { added: added.status, data, logs: [...new Set(logs)], video };
  },
  async stream_through_the_proxy() {
    // fal.stream in server mode goes through proxyUrl: /fal/proxy with x-fal-target-url.
    const stream = await fal.stream("fal-ai/any-llm", { input: { prompt: "Tell me a story" } });
    const events = [];
    for await (const event of stream) {
      events.push(event);
    }
    return { events: events.length, done: await stream.done() };
  },
  async flux_bound() {
    try {
      await fal.subscribe("fal-ai/flux/schnell", { input: { prompt: "x", num_inference_steps: 13 } });
      return "no error";
    } catch (error) {
      return failure(error);
    }
  },
};

const results = {};
for (const [name, scenario] of Object.entries(scenarios)) {
  try {
    results[name] = await scenario();
  } catch (error) {
    results[name] = { threw: String(error), ...failure(error) };
  }
}
console.log(JSON.stringify(results));
