// The page's Film section: upload a video, see its shots, place hints on their first frames, colour it, download it.
"use strict";

const filmFile = document.getElementById("film-file"), shotsBox = document.getElementById("shots");
const filmStatus = document.getElementById("film-status"), startButton = document.getElementById("film-start");
const filmBar = document.getElementById("film-progress"), filmLink = document.getElementById("film-download");
let film = null;          // the upload's answer: id, frames, rate, width, height, shots
let filmHints = {};       // {frame: [{x, y, color}]} in the video's pixels
let filmTakesHints = false;

fetch("api/model").then(r => r.json()).then(info => {
  filmTakesHints = info.hints;
  document.getElementById("film-hint-help").hidden = !filmTakesHints;
});

function say(text, isError = false) {
  filmStatus.textContent = text;
  filmStatus.classList.toggle("error", isError);
}

async function answer(response) {
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || response.statusText);
  return body;
}

filmFile.addEventListener("change", async () => {
  const file = filmFile.files[0];
  if (!file) return;
  film = null; filmHints = {};
  shotsBox.innerHTML = "";
  startButton.hidden = filmBar.hidden = filmLink.hidden = true;
  say(`${file.name}: uploading and finding its shots…`);
  const form = new FormData();
  form.append("file", file);
  try {
    film = await answer(await fetch("api/videos", { method: "POST", body: form }));
  } catch (err) { say(`${file.name}: ${err.message}`, true); return; }
  film.name = file.name;
  film.shots.forEach((shot, k) => shotsBox.append(shotBox(shot, k)));
  say(`${file.name}: ${film.frames} frames, ${film.width}×${film.height}, ${film.shots.length} shot${film.shots.length > 1 ? "s" : ""}.`);
  startButton.hidden = false;
  startButton.disabled = false;
});

// One shot: its first frame (click: a hint there, for models that take them) and the pickers of its hints.
function shotBox(shot, k) {
  const box = document.createElement("figure");
  box.className = "shot" + (filmTakesHints ? " hintable" : "");
  box.innerHTML = `<div class="frame"><img alt="shot ${k + 1}"></div><figcaption></figcaption><ul class="hints"></ul>`;
  const img = box.querySelector("img"), frame = box.querySelector(".frame"), list = box.querySelector("ul");
  img.src = shot.thumbnail;
  box.querySelector("figcaption").textContent = `shot ${k + 1}: frames ${shot.first}–${shot.end - 1}`;
  const hints = filmHints[shot.first] = [];
  const draw = () => {
    frame.querySelectorAll(".marker").forEach(m => m.remove());
    list.innerHTML = "";
    hints.forEach((hint, i) => {
      const marker = document.createElement("div");
      marker.className = "marker";
      marker.style.left = `${(hint.x + 0.5) / film.width * 100}%`;
      marker.style.top = `${(hint.y + 0.5) / film.height * 100}%`;
      marker.style.background = hint.color;
      frame.append(marker);
      const item = document.createElement("li");
      item.innerHTML = `<input type="color" aria-label="colour of hint ${i + 1}"> <span></span> <button title="remove">×</button>`;
      const picker = item.querySelector("input");
      picker.value = hint.color;
      item.querySelector("span").textContent = `${hint.x}, ${hint.y}`;
      picker.addEventListener("input", () => { hint.color = picker.value; marker.style.background = hint.color; });
      item.querySelector("button").addEventListener("click", () => { hints.splice(i, 1); draw(); });
      list.append(item);
    });
  };
  frame.addEventListener("click", event => {
    if (!filmTakesHints || startButton.disabled) return;
    const rect = img.getBoundingClientRect();
    const x = Math.min(film.width - 1, Math.max(0, Math.round((event.clientX - rect.left) / rect.width * film.width)));
    const y = Math.min(film.height - 1, Math.max(0, Math.round((event.clientY - rect.top) / rect.height * film.height)));
    hints.push({ x, y, color: "#3060c0" });
    draw();
    list.lastElementChild.querySelector("input").focus();
  });
  return box;
}

startButton.addEventListener("click", async () => {
  startButton.disabled = true;
  const hints = Object.fromEntries(Object.entries(filmHints).filter(([, items]) => items.length));
  try {
    await answer(await fetch(`api/videos/${film.id}/start`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ hints }),
    }));
  } catch (err) { say(`${film.name}: ${err.message}`, true); startButton.disabled = false; return; }
  filmBar.hidden = false;
  filmBar.value = 0;
  poll(film);
});

// The job's state every second until it is done (a Download link) or failed (its one line).
async function poll(current) {
  if (current !== film) return;  // another video was chosen
  let status;
  try { status = await answer(await fetch(`api/videos/${current.id}`)); } catch (err) { say(err.message, true); return; }
  const { done, total } = status.progress;
  filmBar.max = total;
  filmBar.value = done;
  if (status.state === "done") {
    say(`${current.name}: coloured.`);
    filmLink.href = `api/videos/${current.id}/result`;
    filmLink.download = "";  // named by the server: NAME_colour with its container (an AVI's copy is .mkv)
    filmLink.hidden = false;
  } else if (status.state === "failed") {
    say(`${current.name}: ${status.error}`, true);
    startButton.disabled = false;
  } else {
    say(`${current.name}: ${status.state === "queued" ? "waiting for its turn" : `colouring, frame ${done} of ${total}`}…`);
    setTimeout(() => poll(current), 1000);
  }
}
