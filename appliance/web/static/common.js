// Show epoch timestamps in the browser's local time.
"use strict";
document.querySelectorAll(".ts[data-epoch]").forEach((el) => {
  const d = new Date(Number(el.dataset.epoch) * 1000);
  el.textContent = d.toLocaleString();
});
