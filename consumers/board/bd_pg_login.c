/*
 * bd_pg_login: the sign-in page.  The form posts to /login; the login typed
 * is kept in the field after a failure, the password never is.
 */
#include "bd_html.h"
#include "bd_page.h"
#include "bd_pages.h"

void bd_pg_login(bd_req_t *rq, int status, const char *error, const char *login)
{
        bd_buf_free(&rq->body);
        rq->route.format = BD_FMT_HTML;
        bd_session_t *keep = rq->session;
        rq->session = NULL; /* the layout without navigation */
        bd_page_begin(rq, "登录", BD_R_LOGIN);
        rq->session = keep;
        rq->status = status;
        bd_buf_t *b = &rq->body;
        if (error) {
                bd_buf_puts(b, "<p class=\"flash error\" role=\"alert\">");
                bd_html_txt(b, error);
                bd_buf_puts(b, "</p>");
        }
        bd_buf_puts(b, "<form class=\"login\" method=\"post\" "
                       "action=\"/login\"><label>账号 <input type=\"text\" "
                       "name=\"login\" autocomplete=\"username\" required "
                       "maxlength=\"63\" autofocus value=\"");
        bd_html_attr(b, login);
        bd_buf_puts(b, "\"></label><label>密码 <input type=\"password\" "
                       "name=\"password\" autocomplete=\"current-password\" "
                       "required maxlength=\"200\"></label><button "
                       "type=\"submit\">登录</button></form><p "
                       "class=\"hint\">使用数据库中为您开设的承办人账号登录；"
                       "您只能看到所负责辖区的企业和案件。</p>");
        bd_page_end(rq);
}
