// The colorgan page: upload photos, compare before/after, and (for models trained with hints) place colour hints.
"use strict";

const drop = document.getElementById("drop"), input = document.getElementById("files");
const factor = document.getElementById("factor"), results = document.getElementById("results");
let takesHints = false;

fetch("api/model").then(r => r.json()).then(info => {
  factor.value = info.default_render_factor;
  takesHints = info.hints;
  document.getElementById("hint-help").hidden = !takesHints;
  document.getElementById("model").textContent =
    `Model: ${info.model} (${info.name}) on ${info.device}${info.hints ? ", takes colour hints" : ""}.`;
});

drop.addEventListener("click", () => input.click());
drop.addEventListener("keydown", e => { if (e.key === "Enter" || e.key === " ") input.click(); });
drop.addEventListener("dragover", e => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", e => { e.preventDefault(); drop.classList.remove("over"); addAll(e.dataTransfer.files); });
input.addEventListener("change", () => { addAll(input.files); input.value = ""; });

function addAll(fileList) { for (const file of fileList) new Photo(file); }

const hex = n => n.toString(16).padStart(2, "0");

// One uploaded photo: its result box, its hints, and a request each time they change.
class Photo {
  constructor(file) {
    this.file = file;
    this.hints = [];     // {x, y, color} in the photo's pixels
    this.version = 0;    // requests sent; only the latest one's answer is shown
    this.box = document.createElement("div");
    this.box.className = "result" + (takesHints ? " hintable" : "");
    this.box.dataset.state = "working";
    this.box.dataset.version = "0";
    this.box.innerHTML = `
      <div class="status"></div>
      <div class="compare" hidden>
        <img class="before" alt="original">
        <div class="after"><img class="colour" alt="colourised"></div>
        <input type="range" min="0" max="100" value="50" aria-label="before / after">
      </div>
      <ul class="hints"></ul>
      <div><a class="download" hidden>Download</a></div>`;
    this.status = this.box.querySelector(".status");
    this.compare = this.box.querySelector(".compare");
    this.colour = this.box.querySelector("img.colour");
    this.list = this.box.querySelector(".hints");
    this.box.querySelector("img.before").src = URL.createObjectURL(file);
    const after = this.box.querySelector(".after"), slider = this.box.querySelector("input[type=range]");
    const clip = () => { after.style.clipPath = `inset(0 0 0 ${slider.value}%)`; };
    slider.addEventListener("input", clip);
    clip();
    if (takesHints) this.compare.addEventListener("click", e => this.addHint(e));
    results.prepend(this.box);
    this.recolour();
  }

  // photo pixel under a pointer event
  pointAt(event) {
    const rect = this.colour.getBoundingClientRect();
    const x = (event.clientX - rect.left) / rect.width * this.colour.naturalWidth;
    const y = (event.clientY - rect.top) / rect.height * this.colour.naturalHeight;
    return {
      x: Math.min(this.colour.naturalWidth - 1, Math.max(0, x)),
      y: Math.min(this.colour.naturalHeight - 1, Math.max(0, y)),
    };
  }

  // the colour the current result has at a photo pixel, as #rrggbb (the picker starts there)
  colourAt(x, y) {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 1;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(this.colour, Math.floor(x), Math.floor(y), 1, 1, 0, 0, 1, 1);
    const [r, g, b] = ctx.getImageData(0, 0, 1, 1).data;
    return `#${hex(r)}${hex(g)}${hex(b)}`;
  }

  addHint(event) {
    if (event.target.classList.contains("marker") || event.target.type === "range" || !this.colour.naturalWidth) return;
    const { x, y } = this.pointAt(event);
    const hint = { x: Math.round(x), y: Math.round(y), color: this.colourAt(x, y) };
    this.hints.push(hint);
    this.draw();
    this.list.lastElementChild.querySelector("input").focus();  // its picker is next: Enter or a click opens it
    this.recolour();
  }

  draw() {
    this.compare.querySelectorAll(".marker").forEach(m => m.remove());
    this.list.innerHTML = "";
    this.hints.forEach((hint, i) => {
      const marker = document.createElement("div");
      marker.className = "marker";
      marker.style.left = `${(hint.x + 0.5) / this.colour.naturalWidth * 100}%`;
      marker.style.top = `${(hint.y + 0.5) / this.colour.naturalHeight * 100}%`;
      marker.style.background = hint.color;
      marker.title = `hint ${i + 1}: ${hint.color} at ${hint.x}, ${hint.y}`;
      marker.addEventListener("pointerdown", e => this.drag(e, hint, marker));
      this.compare.append(marker);

      const item = document.createElement("li");
      item.innerHTML = `<input type="color" aria-label="colour of hint ${i + 1}"> <span></span> <button title="remove">×</button>`;
      const picker = item.querySelector("input");
      picker.value = hint.color;
      item.querySelector("span").textContent = `${hint.x}, ${hint.y}`;
      picker.addEventListener("change", () => { hint.color = picker.value; this.draw(); this.recolour(); });
      item.querySelector("button").addEventListener("click", () => { this.hints.splice(i, 1); this.draw(); this.recolour(); });
      this.list.append(item);
    });
  }

  drag(event, hint, marker) {
    event.preventDefault();
    event.stopPropagation();
    marker.setPointerCapture(event.pointerId);
    const move = e => {
      const { x, y } = this.pointAt(e);
      hint.x = Math.round(x); hint.y = Math.round(y);
      marker.style.left = `${(hint.x + 0.5) / this.colour.naturalWidth * 100}%`;
      marker.style.top = `${(hint.y + 0.5) / this.colour.naturalHeight * 100}%`;
    };
    const up = () => {
      marker.removeEventListener("pointermove", move);
      marker.removeEventListener("pointerup", up);
      this.draw();
      this.recolour();
    };
    marker.addEventListener("pointermove", move);
    marker.addEventListener("pointerup", up);
  }

  async recolour() {
    const version = ++this.version;
    this.box.dataset.state = "working";
    this.status.classList.remove("error");
    this.status.textContent = `${this.file.name}: colourising…`;
    const form = new FormData();
    form.append("file", this.file);
    if (factor.value) form.append("render_factor", factor.value);
    if (this.hints.length) form.append("hints", JSON.stringify(this.hints));
    try {
      const response = await fetch("api/colorize", { method: "POST", body: form });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        throw new Error(body.detail || response.statusText);
      }
      const blob = await response.blob();
      if (version !== this.version) return;  // a newer request is on its way
      const url = URL.createObjectURL(blob);
      await new Promise(resolve => { this.colour.onload = resolve; this.colour.src = url; });
      const link = this.box.querySelector("a.download");
      link.href = url;
      link.download = this.file.name.replace(/\.[^.]+$/, "") + "_colour.png";
      link.hidden = false;
      this.compare.hidden = false;
      this.status.textContent = this.file.name + (this.hints.length ? ` (${this.hints.length} hint${this.hints.length > 1 ? "s" : ""})` : "");
      this.box.dataset.version = String(version);
      this.box.dataset.state = "done";
    } catch (err) {
      if (version !== this.version) return;
      this.box.dataset.state = "error";
      this.status.textContent = `${this.file.name}: ${err.message}`;
      this.status.classList.add("error");
    }
  }
}
