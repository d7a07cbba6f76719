// Live parts of the dashboard: an element with data-events gets its HTML replaced by each
// "update" event of that Server-Sent Events stream (fragments the fake rendered and escaped).
"use strict";
document.querySelectorAll("[data-events]").forEach((element) => {
  const source = new EventSource(element.dataset.events);
  source.addEventListener("update", (event) => {
    element.innerHTML = event.data;
  });
  source.addEventListener("done", () => source.close());
});
document.querySelectorAll("form[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
});
