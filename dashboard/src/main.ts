import './style.css';
import { type Api, type ConnectionState, createApi } from './api.js';
import { describeToken, forgetToken, storeToken, type TokenInfo, takeToken } from './auth.js';
import { mountChanges } from './changes.js';
import { stopPolling } from './context.js';
import { mountCustomer } from './customer.js';
import { h } from './dom.js';
import { mountFraud } from './fraud.js';
import { mountHealth } from './health.js';
import { mountRevenue } from './revenue.js';
import { mountSimulation } from './simulation.js';
import { mountTopProducts } from './top-products.js';
import { mountUptake } from './uptake.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const STATES: Record<ConnectionState, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  refused: 'token refused',
};

let api: Api | undefined;

function showLogin(error?: string): void {
  stopPolling();
  api?.close();
  api = undefined;
  $('panels').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = error ?? '';
  $('identity').replaceChildren();
}

function start(token: TokenInfo): void {
  $('login').hidden = true;
  $('panels').hidden = false;
  const status = $('connection');
  api = createApi(token.token, (state, reason) => {
    status.dataset.state = state;
    status.textContent = STATES[state] + (reason && state !== 'live' ? ` (${reason})` : '');
    if (state === 'refused') showLogin(`The server refused the token${reason ? `: ${reason}` : ''}. Sign in with a new one.`);
  });
  const expires = token.expiresAt ? `, expires ${new Date(token.expiresAt).toLocaleString()}` : '';
  $('identity').replaceChildren(
    `${token.role}${token.customerId !== undefined ? ` ${token.customerId}` : ''}${expires} `,
    h(
      'button',
      {
        type: 'button',
        id: 'sign-out',
        onclick: () => {
          forgetToken();
          window.location.reload();
        },
      },
      'Sign out',
    ),
  );
  const context = { api, token };
  mountHealth($('health'), context);
  mountSimulation($('simulation'), context);
  mountChanges($('changes'), context);
  mountRevenue($('revenue'), context);
  mountTopProducts($('top-products'), context);
  mountFraud($('fraud'), context);
  mountUptake($('uptake'), context);
  mountCustomer($('customer'), context);
}

function signIn(token: string | undefined): void {
  if (!token) return showLogin();
  try {
    start(describeToken(token));
  } catch (error) {
    forgetToken();
    showLogin((error as Error).message);
  }
}

$('token-use').addEventListener('click', () => {
  const token = $<HTMLInputElement>('token-input').value.trim();
  try {
    describeToken(token);
    storeToken(token);
    window.location.reload();
  } catch (error) {
    $('login-error').textContent = (error as Error).message;
  }
});

signIn(takeToken());
