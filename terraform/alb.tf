# The public entrance: HTTP answers only with a redirect to HTTPS; HTTPS (TLS 1.2+, an ACM
# certificate) forwards to the web tasks' nginx, which must pass /core/live.

resource "aws_lb" "main" {
  #checkov:skip=CKV_AWS_91:No ALB access log bucket at this size: the app logs every request as one JSON line (with request id, status, time) to CloudWatch already.
  #checkov:skip=CKV2_AWS_28:No WAF at this size ($5/month plus rules, more than the web task); login and mail endpoints are rate limited by the app. Attach a web ACL when traffic warrants.
  name                       = local.name
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.alb.id]
  subnets                    = aws_subnet.public[*].id
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  # Below nginx's keepalive_timeout (75 s, deploy/render_nginx.py): the load balancer, not
  # nginx, closes idle connections, so a request never lands on one nginx is closing (a 502). Uploads send
  # bytes all along, so they are not idle.
  idle_timeout = 60
}

resource "aws_lb_target_group" "web" {
  name                 = "${local.name}-web"
  port                 = local.app_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = aws_vpc.main.id
  deregistration_delay = 60

  # Liveness: the task answers (nginx, then gunicorn) and reaches its database. Not the full
  # /core/health/: Redis or the workers being away must not take every web task out of
  # service; monitoring and deploys ask /core/health/ for that.
  health_check {
    path                = "/core/live"
    matcher             = "200"
    interval            = 30
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  # No stickiness: web tasks keep nothing of their own. With S3 storage the pages send files
  # and recordings straight to the bucket (practika/core/direct.py, streamed.py).
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.main.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.main.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = aws_acm_certificate_validation.site.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }
}
