/* The shared live tracking page: the map (Leaflet, served by the app), the status
 * timeline and the ETA, kept up to date from the link's event stream. No build step;
 * no inline script or style (the page's Content-Security-Policy forbids them). */
(function () {
  "use strict";

  var root = document.getElementById("share");
  if (!root) {
    return;
  }
  var FINAL = ["delivered", "cancelled"];
  var data = root.dataset;
  var labels = document.getElementById("labels").content;
  var live = document.getElementById("live");
  var etaText = document.getElementById("eta");
  var arriving = document.getElementById("arriving");
  var status = data.status;
  var etaAt = null;
  var source = null;

  function number(value) {
    return value === undefined || value === null || value === "" ? null : Number(value);
  }

  function point(lat, lng) {
    lat = number(lat);
    lng = number(lng);
    return lat === null || lng === null || isNaN(lat) || isNaN(lng) ? null : [lat, lng];
  }

  function label(selector) {
    var found = labels.querySelector(selector);
    return found ? found.textContent : "";
  }

  // --- The map: points and the route line are vectors, drawn even without tiles.
  var pickup = point(data.pickupLat, data.pickupLng);
  var dropoff = point(data.dropoffLat, data.dropoffLng);
  var courier = null;
  var map = L.map("map", { zoomControl: true, attributionControl: true }).setView(dropoff, 14);
  L.tileLayer(data.tileUrl, { maxZoom: 19, attribution: data.tileAttribution }).addTo(map);
  var markers = L.layerGroup().addTo(map);
  var route = L.polyline([], { className: "route", color: "#2b6cb0", weight: 4, dashArray: "6 6" }).addTo(map);
  if (pickup) {
    L.circleMarker(pickup, { className: "point-kitchen", radius: 9, color: "#7b341e", fillColor: "#dd6b20", fillOpacity: 1 })
      .bindTooltip(document.querySelector(".kitchen").textContent)
      .addTo(markers);
  }
  L.circle(dropoff, { className: "point-dropoff", radius: 100, color: "#22543d", fillColor: "#38a169", fillOpacity: 0.35 })
    .addTo(markers);
  var courierMarker = L.circleMarker(dropoff, {
    className: "point-courier", radius: 10, color: "#1a365d", fillColor: "#3182ce", fillOpacity: 1
  });

  function drawRoute() {
    var line = [];
    if (courier && (status === "picked_up" || !pickup)) {
      line = [courier, dropoff];
    } else if (courier && pickup) {
      line = [courier, pickup, dropoff];
    } else if (pickup) {
      line = [pickup, dropoff];
    }
    route.setLatLngs(line);
    var bounds = L.latLngBounds([dropoff]);
    line.forEach(function (p) { bounds.extend(p); });
    map.fitBounds(bounds.pad(0.3), { maxZoom: 16, animate: false });
  }

  function showCourier(position, isArriving) {
    courier = position;
    root.dataset.courierLat = position ? String(position[0]) : "";
    root.dataset.courierLng = position ? String(position[1]) : "";
    if (position) {
      courierMarker.setLatLng(position);
      if (!map.hasLayer(courierMarker)) {
        courierMarker.addTo(map);
      }
    } else if (map.hasLayer(courierMarker)) {
      map.removeLayer(courierMarker);
    }
    arriving.hidden = !isArriving;
    drawRoute();
  }

  // --- The ETA, counting down from the estimated arrival time.
  function showEta() {
    if (!etaAt || FINAL.indexOf(status) !== -1) {
      etaText.hidden = true;
      return;
    }
    var minutes = Math.ceil((etaAt.getTime() - Date.now()) / 60000);
    etaText.textContent = minutes >= 1 ? label('[data-eta="minutes"]').replace("{minutes}", String(minutes))
      : label('[data-eta="soon"]');
    etaText.hidden = false;
  }

  function takeEta(at, minutes) {
    if (at) {
      etaAt = new Date(at);
    } else if (minutes !== null && minutes !== undefined && minutes !== "") {
      etaAt = new Date(Date.now() + Number(minutes) * 60000);
    }
    showEta();
  }

  // --- The status timeline: text for every step, never only a colour.
  function setStep(item, state) {
    var states = document.getElementById("timeline").dataset;
    item.className = "step step-" + state;
    item.querySelector(".step-state").textContent = "(" + states["state" + state.charAt(0).toUpperCase() + state.slice(1)] + ")";
    if (state === "now") {
      item.setAttribute("aria-current", "step");
    } else {
      item.removeAttribute("aria-current");
    }
  }

  function showStatus(next) {
    status = next;
    root.dataset.status = next;
    document.getElementById("status-label").textContent = label('[data-status="' + next + '"]') || next;
    var timeline = document.getElementById("timeline");
    var items = Array.prototype.slice.call(timeline.querySelectorAll(".step"));
    if (next === "cancelled") {
      items.forEach(function (item) {
        if (item.classList.contains("step-next") || item.classList.contains("step-now")) {
          item.remove();
        }
      });
      var cancelled = document.createElement("li");
      cancelled.dataset.status = "cancelled";
      cancelled.innerHTML = '<span class="mark" aria-hidden="true"></span> <span class="step-label"></span> <span class="step-state"></span>';
      cancelled.querySelector(".step-label").textContent = label('[data-status="cancelled"]');
      timeline.appendChild(cancelled);
      setStep(cancelled, "now");
    } else {
      var reached = false;
      items.forEach(function (item) {
        if (item.dataset.status === next) {
          reached = true;
          setStep(item, "now");
        } else {
          setStep(item, reached ? "next" : "done");
        }
      });
    }
    if (FINAL.indexOf(next) !== -1) {
      stop(label('[data-ended="' + next + '"]'));
    }
  }

  function stop(message) {
    if (source) {
      source.close();
      source = null;
    }
    var ended = document.getElementById("ended");
    if (message) {
      ended.textContent = message;
      ended.hidden = false;
    }
    live.textContent = live.dataset.stopped;
    root.dataset.live = "stopped";
    showCourier(null, false);
    showEta();
  }

  // --- The stream: the browser reconnects by itself, sending Last-Event-ID.
  function follow() {
    source = new EventSource(data.streamUrl);
    source.addEventListener("open", function () {
      live.textContent = live.dataset.live;
      root.dataset.live = "open";
    });
    source.addEventListener("status", function (event) {
      showStatus(JSON.parse(event.data).status);
    });
    source.addEventListener("location", function (event) {
      var position = JSON.parse(event.data);
      showCourier(point(position.lat, position.lng), position.arriving === true);
      takeEta(position.estimated_arrival_at, position.eta_minutes);
    });
    source.addEventListener("error", function () {
      if (!source) {
        return;
      }
      if (source.readyState === EventSource.CLOSED) {
        stop("");  // 204 (the order ended), 404 or 410: nothing more will come
      } else {
        live.textContent = live.dataset.reconnecting;
        root.dataset.live = "reconnecting";
      }
    });
  }

  showCourier(data.courierArriving === "true" ? null : point(data.courierLat, data.courierLng),
    data.courierArriving === "true");
  takeEta(data.etaAt, data.etaMinutes);
  window.setInterval(showEta, 15000);
  if (FINAL.indexOf(status) === -1) {
    follow();
  } else {
    root.dataset.live = "stopped";
  }
}());
