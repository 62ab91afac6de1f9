// mloop dashboard: draws the charts a page embeds as JSON and sends its actions to /api/v1.
"use strict";

(function () {
  const API = "/api/v1";
  const TOKEN_KEY = "mloop.token";
  const USER_KEY = "mloop.user";

  function drawCharts() {
    if (typeof Plotly === "undefined") {
      return;
    }
    document.querySelectorAll(".chart[data-figure]").forEach(function (element) {
      const source = document.getElementById(element.dataset.figure);
      const figure = JSON.parse(source.textContent);
      const layout = Object.assign({}, figure.layout, {
        height: Number(element.dataset.height) || 320,
        autosize: true,
        paper_bgcolor: "rgba(0,0,0,0)",
        plot_bgcolor: "rgba(0,0,0,0)",
      });
      Plotly.newPlot(element, figure.data, layout, {
        responsive: true,
        displaylogo: false,
        modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage"],
      });
    });
  }

  function headers() {
    const found = {"content-type": "application/json"};
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) {
      found.authorization = "Bearer " + token;
    }
    return found;
  }

  async function send(path, body) {
    const answer = await fetch(API + path, {
      method: "POST",
      headers: headers(),
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    if (answer.ok) {
      return answer.json();
    }
    let message = "HTTP " + answer.status;
    try {
      const error = await answer.json();
      message = error.error || message;
    } catch (ignored) {
      // the body was not mloop's JSON error body
    }
    const failure = new Error(message);
    failure.status = answer.status;
    throw failure;
  }

  function userName() {
    return localStorage.getItem(USER_KEY) || "dashboard";
  }

  async function changeAlert(button) {
    button.disabled = true;
    const row = button.closest("tr");
    try {
      await send("/alerts/" + button.dataset.alert + "/status",
        {status: button.dataset.status, user: userName()});
      location.reload();
    } catch (error) {
      if (error.status === 401) {
        const token = window.prompt("This server needs its token (MLOOP_TOKEN) for changes:");
        if (token) {
          sessionStorage.setItem(TOKEN_KEY, token);
          button.disabled = false;
          return changeAlert(button);
        }
      }
      row.querySelector(".alert-status").textContent = "failed: " + error.message;
      button.disabled = false;
    }
  }

  function confirmMove(button) {
    const dialog = document.getElementById("confirm");
    const data = button.dataset;
    const rollback = data.action === "rollback";
    document.getElementById("confirm-title").textContent =
      rollback ? "Roll back @" + data.alias : "Promote v" + data.version;
    document.getElementById("confirm-text").textContent = rollback
      ? "Move @" + data.alias + " of " + data.model + " back from v" + data.from + " to v" +
        data.version + ". Traffic that follows @" + data.alias + " switches at once."
      : "Point @" + data.alias + " of " + data.model + " at v" + data.version +
        (data.from ? " (now v" + data.from + ")" : "") + ". Traffic that follows @" +
        data.alias + " switches at once.";
    document.getElementById("confirm-reason").value = "";
    document.getElementById("confirm-user").value = userName();
    document.getElementById("confirm-error").textContent = "";
    dialog.querySelector(".token-row").hidden = !sessionStorage.getItem(TOKEN_KEY) &&
      !dialog.dataset.needsToken;
    dialog.move = {
      name: data.model,
      alias: data.alias,
      version: Number(data.version),
      action: rollback ? "rollback" : "set",
      after_event: Number(data.after || 0),
    };
    dialog.showModal();
  }

  async function submitMove(event) {
    event.preventDefault();
    const dialog = document.getElementById("confirm");
    const reason = document.getElementById("confirm-reason").value.trim();
    const user = document.getElementById("confirm-user").value.trim() || "dashboard";
    const token = document.getElementById("confirm-token").value.trim();
    const problem = document.getElementById("confirm-error");
    if (reason.length < 3) {
      problem.textContent = "Give a reason: it is kept in the alias history.";
      return;
    }
    if (token) {
      sessionStorage.setItem(TOKEN_KEY, token);
    }
    localStorage.setItem(USER_KEY, user);
    try {
      await send("/alias-moves", Object.assign({}, dialog.move, {reason: reason, user: user}));
      dialog.close();
      location.reload();
    } catch (error) {
      if (error.status === 401) {
        dialog.dataset.needsToken = "1";
        dialog.querySelector(".token-row").hidden = false;
      }
      problem.textContent = error.message;
    }
  }

  function wire() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    document.addEventListener("click", function (event) {
      const button = event.target.closest("button[data-action]");
      if (!button) {
        return;
      }
      if (button.dataset.action === "alert") {
        changeAlert(button);
      } else {
        confirmMove(button);
      }
    });
    const form = document.getElementById("confirm-form");
    form.addEventListener("submit", submitMove);
    document.getElementById("confirm-cancel").addEventListener("click", function () {
      document.getElementById("confirm").close();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    wire();
    drawCharts();
  });
}());
