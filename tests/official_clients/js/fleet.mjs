// The unmodified @fal-ai/client against a fleet of replicas behind a load balancer.
// Usage: node fleet.mjs <balancer URL> <key> submit <webhook URL>   -> {"ids": [...], "upload": url}
//        node fleet.mjs <balancer URL> <key> follow <id>,<id>,...   -> {"results": [...]}
import { createFalClient } from "@fal-ai/client";

const [base, key, mode, argument] = process.argv.slice(2);
const ENDPOINT = "google/gemini-omni-flash/reference-to-video";
const fal = createFalClient({ credentials: key, proxyUrl: { url: `${base}/fal/proxy`, when: "always" } });
// A real 16x16 red PNG: the fake decodes reference images.
const PNG = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 16, 0, 0, 0, 16, 8, 2, 0, 0, 0, 144, 145, 104, 54, 0, 0, 0, 25, 73, 68, 65, 84, 120, 156, 99, 188, 35, 39, 199, 64, 10, 96, 34, 73, 245, 168, 134, 81, 13, 67, 74, 3, 0, 140, 75, 1, 56, 193, 233, 238, 225, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130]);

if (mode === "submit") {
  const upload = await fal.storage.upload(new Blob([PNG], { type: "image/png" }));
  const ids = [];
  for (let n = 0; n < 6; n++) {
    const input = { prompt: `A cat ${n} <IMAGE_REF_0>`, image_urls: [upload] };
    const { request_id } = await fal.queue.submit(ENDPOINT, { input, webhookUrl: argument });
    ids.push(request_id);
  }
  console.log(JSON.stringify({ ids, upload }));
} else {
  const results = [];
  for (const requestId of argument.split(",")) {
    await fal.queue.subscribeToStatus(ENDPOINT, { requestId, mode: "polling", pollInterval: 50 });
    results.push((await fal.queue.result(ENDPOINT, { requestId })).data.video.url);
  }
  console.log(JSON.stringify({ results }));
}
